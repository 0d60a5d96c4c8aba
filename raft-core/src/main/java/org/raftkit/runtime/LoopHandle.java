package org.raftkit.runtime;

import org.raftkit.spi.Scheduler;

/**
 * The loop a part's work runs on, once the node has started it: wakes it when work is queued and
 * stops it. Before the loop is bound, both do nothing: the loop's first turn drains whatever was
 * queued. Any thread; never blocks.
 */
final class LoopHandle {

    private volatile Scheduler.Loop loop;

    /** Sets the loop; once, when the node starts. */
    void bind(Scheduler.Loop loop) {
        this.loop = loop;
    }

    void wake() {
        Scheduler.Loop l = loop;
        if (l != null) {
            l.wake();
        }
    }

    void stop() {
        Scheduler.Loop l = loop;
        if (l != null) {
            l.stop();
        }
    }
}
