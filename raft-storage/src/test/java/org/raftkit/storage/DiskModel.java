package org.raftkit.storage;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.function.Predicate;

import org.raftkit.storage.PowerLossDisk.Create;
import org.raftkit.storage.PowerLossDisk.DirectorySync;
import org.raftkit.storage.PowerLossDisk.Event;
import org.raftkit.storage.PowerLossDisk.Force;
import org.raftkit.storage.PowerLossDisk.Rename;
import org.raftkit.storage.PowerLossDisk.Truncate;
import org.raftkit.storage.PowerLossDisk.Unlink;
import org.raftkit.storage.PowerLossDisk.Write;

/**
 * One directory as a power loss sees it: for each file what is durable (as of its last force) and
 * what the running code sees (the page cache); for the directory the names that are durable (as of
 * its last force) and the creates, unlinks and renames since. {@link #apply} replays a
 * {@link PowerLossDisk} record event by event; {@link #crashImage} says what the disk could hold if
 * the power went out now:
 * <ul>
 *   <li>every byte and size made durable by a force is kept;</li>
 *   <li>each 4 KiB page whose cached bytes differ from its durable ones is, independently, kept
 *       (the cached bytes), lost (the durable bytes; zeros past the durable end) or torn (each
 *       512-byte sector one or the other);</li>
 *   <li>a file whose size changed since its force has the durable or the cached size; a truncation
 *       changes only the size, so if the old size survives so do the old bytes past the new one;</li>
 *   <li>each directory operation since the directory's force is, independently and in order,
 *       done or not (an unlink or rename of a name the image does not hold is not done).</li>
 * </ul>
 * Files no name points to are gone. The choices come from a {@link Fates}.
 */
final class DiskModel {

    static final int PAGE_BYTES = 4096;
    static final int SECTOR_BYTES = 512;

    /** What happens to each unsynced thing in one crash image. */
    interface Fates {
        /** What is left of an unsynced page. */
        PageFate page(String name, long pageIndex);

        /** For a torn page: whether this sector holds the new (cached) bytes. */
        boolean sectorWritten(String name, long sectorIndex);

        /** For a file whose size changed since its force: whether the new size survives. */
        boolean newSize(String name);

        /** Whether this unsynced directory operation survives. */
        boolean done(Event directoryOperation);
    }

    /**
     * Fates fixed by the test: each unsynced page as {@code pages} says (a torn page keeps its even
     * sectors), every changed size new or old, every unsynced directory operation done or not.
     */
    static Fates scripted(BiFunction<String, Long, PageFate> pages, boolean newSize, boolean directoryOpsDone) {
        return scripted(pages, newSize, op -> directoryOpsDone);
    }

    /** {@link #scripted(BiFunction, boolean, boolean)}, with each directory operation done if {@code done} says so. */
    static Fates scripted(BiFunction<String, Long, PageFate> pages, boolean newSize, Predicate<Event> done) {
        return new Fates() {
            @Override
            public PageFate page(String name, long pageIndex) {
                return pages.apply(name, pageIndex);
            }

            @Override
            public boolean sectorWritten(String name, long sectorIndex) {
                return sectorIndex % 2 == 0;
            }

            @Override
            public boolean newSize(String name) {
                return newSize;
            }

            @Override
            public boolean done(Event directoryOperation) {
                return done.test(directoryOperation);
            }
        };
    }

    /** The three fates of an unsynced page. */
    enum PageFate { KEPT, LOST, TORN }

    /** One file's bytes. Invariant: the arrays hold at least {@code *Length} bytes, zeros after it. */
    private static final class Inode {
        byte[] durable = new byte[0];
        byte[] cached = new byte[0];
        int cachedLength;

        Inode copy() {
            Inode c = new Inode();
            c.durable = durable;
            c.cached = cached.clone();
            c.cachedLength = cachedLength;
            return c;
        }
    }

    private final Map<Long, Inode> inodes = new HashMap<>();
    private Map<String, Long> durableNames = new HashMap<>();
    private final Map<String, Long> names = new HashMap<>();
    private final List<Event> pendingDirectoryOps = new ArrayList<>();
    private long nextInode = 1;

    /** The files now in {@code dir}, all durable. */
    static DiskModel ofDirectory(Path dir) throws IOException {
        DiskModel m = new DiskModel();
        TreeMap<String, Path> files = new TreeMap<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (Files.isRegularFile(p)) {
                    files.put(p.getFileName().toString(), p);
                }
            }
        }
        for (Map.Entry<String, Path> f : files.entrySet()) {
            Inode inode = new Inode();
            inode.durable = Files.readAllBytes(f.getValue());
            inode.cached = inode.durable.clone();
            inode.cachedLength = inode.durable.length;
            long id = m.nextInode++;
            m.inodes.put(id, inode);
            m.names.put(f.getKey(), id);
        }
        m.durableNames = new HashMap<>(m.names);
        return m;
    }

    DiskModel copy() {
        DiskModel c = new DiskModel();
        inodes.forEach((id, inode) -> c.inodes.put(id, inode.copy()));
        c.durableNames = new HashMap<>(durableNames);
        c.names.putAll(names);
        c.pendingDirectoryOps.addAll(pendingDirectoryOps);
        c.nextInode = nextInode;
        return c;
    }

    /** The directory as the running code sees it. */
    Map<String, Long> names() {
        return names;
    }

    long nextInode() {
        return nextInode;
    }

    /** Replays one recorded event. */
    void apply(Event event) {
        if (event instanceof Write w) {
            write(inodes.get(w.inode()), (int) w.offset(), w.bytes());
        } else if (event instanceof Truncate t) {
            Inode inode = inodes.get(t.inode());
            if (t.size() < inode.cachedLength) {
                Arrays.fill(inode.cached, (int) t.size(), inode.cachedLength, (byte) 0);
                inode.cachedLength = (int) t.size();
            }
        } else if (event instanceof Force f) {
            Inode inode = inodes.get(f.inode());
            inode.durable = Arrays.copyOf(inode.cached, inode.cachedLength);
        } else if (event instanceof Create c) {
            inodes.put(c.inode(), new Inode());
            nextInode = Math.max(nextInode, c.inode() + 1);
            names.put(c.name(), c.inode());
            pendingDirectoryOps.add(c);
        } else if (event instanceof Unlink u) {
            names.remove(u.name());
            pendingDirectoryOps.add(u);
        } else if (event instanceof Rename r) {
            names.put(r.to(), names.remove(r.from()));
            pendingDirectoryOps.add(r);
        } else if (event instanceof DirectorySync) {
            durableNames = new HashMap<>(names);
            pendingDirectoryOps.clear();
        }
    }

    /** Whether anything is not yet durable: without that, every crash image is the same. */
    boolean anythingUnsynced() {
        if (!pendingDirectoryOps.isEmpty()) {
            return true;
        }
        for (Long id : names.values()) {
            Inode inode = inodes.get(id);
            if (inode.durable.length != inode.cachedLength
                    || Arrays.mismatch(inode.durable, 0, inode.durable.length, inode.cached, 0, inode.cachedLength) >= 0) {
                return true;
            }
        }
        return false;
    }

    /** The files (name to bytes) a power loss now could leave, with the choices {@code fates} makes. */
    Map<String, byte[]> crashImage(Fates fates) {
        Map<String, Long> image = new HashMap<>(durableNames);
        for (Event op : pendingDirectoryOps) {
            if (op instanceof Create c) {
                if (fates.done(op)) {
                    image.put(c.name(), c.inode());
                }
            } else if (op instanceof Unlink u) {
                if (image.containsKey(u.name()) && fates.done(op)) {
                    image.remove(u.name());
                }
            } else if (op instanceof Rename r) {
                if (image.containsKey(r.from()) && fates.done(op)) {
                    image.put(r.to(), image.remove(r.from()));
                }
            }
        }
        Map<String, byte[]> files = new TreeMap<>();
        image.forEach((name, id) -> files.put(name, fileImage(name, inodes.get(id), fates)));
        return files;
    }

    /** Writes {@code image} into {@code dir}, which it empties first. */
    static void materialize(Map<String, byte[]> image, Path dir) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                Files.delete(p);
            }
        }
        for (Map.Entry<String, byte[]> f : image.entrySet()) {
            Files.write(dir.resolve(f.getKey()), f.getValue());
        }
    }

    private static byte[] fileImage(String name, Inode inode, Fates fates) {
        byte[] durable = inode.durable;
        int length = durable.length == inode.cachedLength || !fates.newSize(name) ? durable.length : inode.cachedLength;
        // A truncation changes the size, not the bytes: past the cached size the old bytes are still
        // there if the old size survives. So the cached view past it reads the durable bytes.
        byte[] cached = Arrays.copyOf(inode.cached, Math.max(inode.cachedLength, durable.length));
        if (durable.length > inode.cachedLength) {
            System.arraycopy(durable, inode.cachedLength, cached, inode.cachedLength, durable.length - inode.cachedLength);
        }
        byte[] out = new byte[length];
        for (int page = 0; page * PAGE_BYTES < length; page++) {
            int from = page * PAGE_BYTES;
            int to = Math.min(length, from + PAGE_BYTES);
            if (sameBytes(durable, cached, from, to)) {
                copy(cached, from, to, out);
                continue;
            }
            PageFate fate = fates.page(name, page);
            if (fate == PageFate.KEPT) {
                copy(cached, from, to, out);
            } else if (fate == PageFate.LOST) {
                copy(durable, from, to, out);
            } else {
                for (int s = from; s < to; s += SECTOR_BYTES) {
                    int e = Math.min(to, s + SECTOR_BYTES);
                    copy(fates.sectorWritten(name, s / SECTOR_BYTES) ? cached : durable, s, e, out);
                }
            }
        }
        return out;
    }

    private static void write(Inode inode, int offset, byte[] bytes) {
        int end = offset + bytes.length;
        if (end > inode.cached.length) {
            inode.cached = Arrays.copyOf(inode.cached, Math.max(end, inode.cached.length * 2));
        }
        System.arraycopy(bytes, 0, inode.cached, offset, bytes.length);
        inode.cachedLength = Math.max(inode.cachedLength, end);
    }

    /** Whether [from, to) reads the same in both (bytes past an array's end read as zeros). */
    private static boolean sameBytes(byte[] a, byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (byteAt(a, i) != byteAt(b, i)) {
                return false;
            }
        }
        return true;
    }

    private static byte byteAt(byte[] a, int i) {
        return i < a.length ? a[i] : 0;
    }

    /** Copies [from, to) of {@code src} (zeros past its end) into the same place in {@code out}, which is fresh. */
    private static void copy(byte[] src, int from, int to, byte[] out) {
        int n = Math.min(to, src.length) - from;
        if (n > 0) {
            System.arraycopy(src, from, out, from, n);
        }
    }
}
