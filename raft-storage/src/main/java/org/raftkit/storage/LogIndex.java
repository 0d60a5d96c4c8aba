package org.raftkit.storage;

import java.util.ArrayList;
import java.util.List;

import org.raftkit.message.Entry;

/**
 * What the log holds, in memory: the segments with each record's offset, the term runs, the cache
 * of recent entries, and the first and last index. Every answer a reader needs without disk comes
 * from here.
 *
 * <h2>Threads</h2>
 * The storage thread changes it (after its file I/O, never during); the Raft thread reads it.
 * Every method holds this object's monitor for a few array operations only, so a reader never
 * waits on a disk. Disk reads happen outside, from a {@link ReadPlan}.
 */
final class LogIndex {

    /** Part of a read to serve from a segment file: {@code count} records from {@code firstIndex}. */
    record DiskRead(Segment segment, long firstIndex, int count, int startOffset, int endOffset) {
    }

    /** A read decided under the monitor: first the disk parts, then the cached entries, in index order. */
    record ReadPlan(List<DiskRead> diskReads, List<Entry> cached) {
    }

    /** Sorted by first index, contiguous. Invariant: the last one is where appends go. */
    private final ArrayList<Segment> segments;
    private final TermRuns terms;
    private final EntryCache cache;
    private long firstIndex;
    /** Invariant: firstIndex - 1 <= lastIndex. */
    private long lastIndex;
    /** Term of firstIndex - 1 (0 for index 0). */
    private long termBeforeFirst;
    /** Every index up to here has been handed to its file. Invariant: the cache holds every index above it. */
    private long flushedIndex;

    LogIndex(List<Segment> segments, TermRuns terms, long firstIndex, long lastIndex, long termBeforeFirst,
             long cacheBytes) {
        this.segments = new ArrayList<>(segments);
        this.terms = terms;
        this.firstIndex = firstIndex;
        this.lastIndex = lastIndex;
        this.termBeforeFirst = termBeforeFirst;
        this.flushedIndex = lastIndex;
        this.cache = new EntryCache(cacheBytes, lastIndex + 1);
    }

    synchronized long firstIndex() {
        return firstIndex;
    }

    synchronized long lastIndex() {
        return lastIndex;
    }

    /** See {@link org.raftkit.spi.LogStorage#term}. */
    synchronized long term(long index) {
        if (index == firstIndex - 1) {
            return index == 0 ? 0 : termBeforeFirst;
        }
        if (index < firstIndex || index > lastIndex) {
            throw new IndexOutOfBoundsException("index " + index + " outside [" + (firstIndex - 1) + ", "
                    + lastIndex + "]");
        }
        return terms.termAt(index);
    }

    /** The segment appends go to, or null before the first append to a new log. */
    synchronized Segment lastSegment() {
        return segments.isEmpty() ? null : segments.get(segments.size() - 1);
    }

    /** A snapshot of the segment list. */
    synchronized List<Segment> segments() {
        return new ArrayList<>(segments);
    }

    /** A new segment, whose first index is {@code lastIndex + 1}, becomes the last one. */
    synchronized void addSegment(Segment segment) {
        segments.add(segment);
    }

    /** The entry, written at [offset, end) of {@code segment} (or still buffered for it), is now in the log. */
    synchronized void appended(Segment segment, int offset, int end, Entry e) {
        segment.add(offset, end);
        terms.append(e.index(), e.term());
        cache.add(e);
        lastIndex = e.index();
    }

    /** Every index up to {@code index} is now in its file, so the cache may let it go. */
    synchronized void flushed(long index) {
        flushedIndex = index;
        cache.evict(flushedIndex);
    }

    /**
     * Decides which entries a read of [fromIndex, toIndex) returns under the byte bound, and where
     * each comes from.
     */
    synchronized ReadPlan plan(long fromIndex, long toIndex, long maxBytes) {
        if (fromIndex < firstIndex || toIndex > lastIndex + 1 || fromIndex > toIndex) {
            throw new IndexOutOfBoundsException("range [" + fromIndex + ", " + toIndex + ") outside ["
                    + firstIndex + ", " + lastIndex + "]");
        }
        long cachedFrom = cache.firstIndex();
        List<DiskRead> diskReads = new ArrayList<>(2);
        List<Entry> cached = new ArrayList<>();
        long bytes = 0;
        long index = fromIndex;
        int s = fromIndex < cachedFrom ? segmentHolding(fromIndex) : -1;
        while (index < toIndex && index < cachedFrom) { // the disk part, segment by segment
            Segment segment = segments.get(s);
            long first = index;
            long last = Math.min(Math.min(toIndex, cachedFrom), segment.lastIndex() + 1);
            boolean full = false;
            while (index < last) {
                long size = RecordFormat.entrySizeBytes(segment.recordEnd(index) - segment.offset(index));
                if (index > fromIndex && bytes + size > maxBytes) {
                    full = true;
                    break;
                }
                bytes += size;
                index++;
            }
            if (index > first) {
                diskReads.add(new DiskRead(segment, first, (int) (index - first), segment.offset(first),
                        segment.recordEnd(index - 1)));
            }
            if (full) {
                return new ReadPlan(diskReads, cached);
            }
            s++;
        }
        while (index < toIndex) {
            Entry e = cache.get(index);
            if (index > fromIndex && bytes + e.sizeBytes() > maxBytes) {
                break;
            }
            bytes += e.sizeBytes();
            cached.add(e);
            index++;
        }
        return new ReadPlan(diskReads, cached);
    }

    /**
     * Forgets indexes {@code >= fromIndex} (firstIndex <= fromIndex <= lastIndex). The segment
     * holding {@code fromIndex} keeps the records before it, unless it starts there and is not the
     * first segment: then it goes too, and the one before becomes the last.
     *
     * @return the segments that no longer hold anything, to close and delete
     */
    synchronized List<Segment> truncateFrom(long fromIndex) {
        int s = segmentHolding(fromIndex);
        Segment holding = segments.get(s);
        int firstRemoved = fromIndex == holding.firstIndex && s > 0 ? s : s + 1;
        List<Segment> removed = new ArrayList<>(segments.subList(firstRemoved, segments.size()));
        segments.subList(firstRemoved, segments.size()).clear();
        lastSegmentLocked().truncateFrom(fromIndex);
        terms.truncateFrom(fromIndex);
        cache.truncateFrom(fromIndex);
        lastIndex = fromIndex - 1;
        flushedIndex = Math.min(flushedIndex, lastIndex);
        return removed;
    }

    /**
     * Drops the segments before the one starting at {@code newFirstIndex}; {@code termBeforeFirst}
     * is the term of the entry before it.
     *
     * @return the dropped segments, to close and delete
     */
    synchronized List<Segment> dropSegmentsBefore(long newFirstIndex, long newTermBeforeFirst) {
        int keepFrom = 0;
        while (keepFrom < segments.size() && segments.get(keepFrom).firstIndex < newFirstIndex) {
            keepFrom++;
        }
        List<Segment> removed = new ArrayList<>(segments.subList(0, keepFrom));
        segments.subList(0, keepFrom).clear();
        firstIndex = newFirstIndex;
        termBeforeFirst = newTermBeforeFirst;
        terms.dropBefore(newFirstIndex);
        cache.dropBefore(newFirstIndex);
        return removed;
    }

    /**
     * Forgets every entry and every segment: the log now starts at {@code newFirstIndex}, empty, and
     * {@code newTermBeforeFirst} is the term of the entry before it (a reset to a snapshot).
     *
     * @return the segments, to close and delete
     */
    synchronized List<Segment> reset(long newFirstIndex, long newTermBeforeFirst) {
        List<Segment> removed = new ArrayList<>(segments);
        segments.clear();
        terms.clear();
        cache.clear(newFirstIndex);
        firstIndex = newFirstIndex;
        lastIndex = newFirstIndex - 1;
        termBeforeFirst = newTermBeforeFirst;
        flushedIndex = lastIndex;
        return removed;
    }

    /** Heap bytes of the index (offsets and term runs) and, apart, of the cache's entries. */
    synchronized long[] heapBytes() {
        long index = terms.heapBytes();
        for (Segment s : segments) {
            index += s.indexBytes();
        }
        return new long[] {index, cache.bytes()};
    }

    private Segment lastSegmentLocked() {
        return segments.get(segments.size() - 1);
    }

    /** Position in {@link #segments} of the segment holding {@code index} (binary search by first index). */
    private int segmentHolding(long index) {
        int lo = 0;
        int hi = segments.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (segments.get(mid).firstIndex <= index) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }
}
