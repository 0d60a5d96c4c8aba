package org.raftkit.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Objects;

/**
 * The bytes {@code [offset, offset + length)} of a file, read with positional reads so that other
 * readers of the same file are not disturbed. Owns the channel: closing the stream closes it. One
 * thread at a time; reads block.
 */
final class RangeInputStream extends InputStream {

    private final FileChannel channel;
    private final long end;
    private long position;

    RangeInputStream(FileChannel channel, long offset, long length) {
        this.channel = channel;
        this.position = offset;
        this.end = offset + length;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        if (position >= end) {
            return -1;
        }
        ByteBuffer dst = ByteBuffer.wrap(b, off, (int) Math.min(len, end - position));
        StorageFiles.readFully(channel, dst, position);
        int n = dst.position() - off;
        position += n;
        return n;
    }

    @Override
    public long skip(long n) {
        long skipped = Math.max(0, Math.min(n, end - position));
        position += skipped;
        return skipped;
    }

    @Override
    public int available() {
        return (int) Math.min(Integer.MAX_VALUE, end - position);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
