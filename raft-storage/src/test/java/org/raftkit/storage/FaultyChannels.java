package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
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

    private final class Channel extends FileChannel {

        private final FileChannel delegate;

        Channel(FileChannel delegate) {
            this.delegate = delegate;
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
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                total += write(srcs[i]);
            }
            return total;
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

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return delegate.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return delegate.read(dsts, offset, length);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return delegate.read(dst, position);
        }

        @Override
        public long position() throws IOException {
            return delegate.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            delegate.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return delegate.size();
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return delegate.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            throw new UnsupportedOperationException("not used by storage");
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            throw new UnsupportedOperationException("not used by storage");
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return delegate.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return delegate.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            delegate.close();
        }
    }
}
