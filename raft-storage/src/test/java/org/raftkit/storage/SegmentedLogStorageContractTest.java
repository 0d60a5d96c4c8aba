package org.raftkit.storage;

import java.nio.file.Path;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.spi.LogStorage;

/**
 * The contract against {@link SegmentedLogStorage}, in three set-ups: small segments with a small
 * cache (most reads come from disk, many rolls), no cache and no preallocation, and the defaults.
 * A reopen closes the log and opens its directory again.
 */
class SegmentedLogStorageContractTest {

    /** Base for the set-ups: each says only which options it uses. */
    abstract static class OnDisk extends LogStorageContractTest {

        @TempDir
        Path dir;

        abstract SegmentedLogStorage.Options options();

        @Override
        LogStorage create() throws Exception {
            return SegmentedLogStorage.open(dir, options());
        }

        @Override
        LogStorage reopen(LogStorage log) throws Exception {
            log.close();
            return SegmentedLogStorage.open(dir, options());
        }

        @Override
        boolean compactsExactly() {
            return false;
        }
    }

    @Nested
    class SmallSegmentsSmallCache extends OnDisk {
        @Override
        SegmentedLogStorage.Options options() {
            return SegmentedLogStorage.Options.defaults().withSegmentSizeBytes(4096).withCacheBytes(1024)
                    .withWriteBufferBytes(4096).withPreallocateBytes(1024);
        }
    }

    @Nested
    class NoCacheNoPreallocation extends OnDisk {
        @Override
        SegmentedLogStorage.Options options() {
            return SegmentedLogStorage.Options.defaults().withSegmentSizeBytes(8192).withCacheBytes(0)
                    .withPreallocateBytes(0);
        }
    }

    @Nested
    class Defaults extends OnDisk {
        @Override
        SegmentedLogStorage.Options options() {
            return SegmentedLogStorage.Options.defaults();
        }
    }
}
