package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link FileChannelFactory} whose channels fail on command, as a failing disk would: EIO on
 * write, EIO on force, or ENOSPC once a quota of written bytes is used up (the write that crosses
 * the quota is cut short, as a real one is, so a partial record reaches the file). Faults apply to
 * every channel it opened, from the moment they are switched on; {@link #heal()} switches them off
 * (the disk was replaced).
 */
final class FaultyChannels implements FileChannelFactory {

    private volatile boolean failWrites;
    private volatile boolean failForces;
    private final AtomicLong quotaBytes = new AtomicLong(Long.MAX_VALUE);
    private final AtomicInteger forces = new AtomicInteger();
    private final AtomicInteger failedForces = new AtomicInteger();

    /** Every write from now on throws EIO. */
    void failWrites() {
        failWrites = true;
    }

    /** Every force from now on throws EIO. */
    void failForces() {
        failForces = true;
    }

    /** After {@code bytes} more bytes, writes fail with ENOSPC (the crossing write is cut short). */
    void quota(long bytes) {
        quotaBytes.set(bytes);
    }

    /** No more faults. */
    void heal() {
        failWrites = false;
        failForces = false;
        quotaBytes.set(Long.MAX_VALUE);
    }

    /** Calls to force, failed ones included. */
    int forces() {
        return forces.get();
    }

    /** Calls to force that failed. */
    int failedForces() {
        return failedForces.get();
    }

    @Override
    public FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException {
        return new Channel(FileChannel.open(path, options));
    }

    /** How many of {@code wanted} bytes the next write may write; throws when the disk is "full". */
    private int allow(int wanted) throws IOException {
        if (failWrites) {
            throw new IOException("Input/output error (injected EIO on write)");
        }
        while (true) {
            long left = quotaBytes.get();
            if (left == Long.MAX_VALUE) {
                return wanted;
            }
            if (left == 0) {
                throw new IOException("No space left on device (injected ENOSPC)");
            }
            int n = (int) Math.min(wanted, left);
            if (quotaBytes.compareAndSet(left, left - n)) {
                return n;
            }
        }
    }

    private final class Channel extends ForwardingFileChannel {

        Channel(FileChannel delegate) {
            super(delegate);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            int n = allow(src.remaining());
            int limit = src.limit();
            src.limit(src.position() + n);
            try {
                return delegate.write(src, position);
            } finally {
                src.limit(limit);
            }
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = allow(src.remaining());
            int limit = src.limit();
            src.limit(src.position() + n);
            try {
                return delegate.write(src);
            } finally {
                src.limit(limit);
            }
        }

        @Override
        public void force(boolean metaData) throws IOException {
            forces.incrementAndGet();
            if (failForces) {
                failedForces.incrementAndGet();
                throw new IOException("Input/output error (injected EIO on fsync)");
            }
            delegate.force(metaData);
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            if (failWrites) {
                throw new IOException("Input/output error (injected EIO on truncate)");
            }
            delegate.truncate(size);
            return this;
        }
    }
}
