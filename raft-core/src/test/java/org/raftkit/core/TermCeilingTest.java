package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.raftkit.Role;
import org.raftkit.message.Heartbeat;

/**
 * A finding of {@link MessageFuzzTest} (issue 15, "Permanent outage from one message"): the
 * validator refuses terms above {@link MessageValidator#MAX_TERM}, so {@code term + 1} cannot
 * overflow, but it still accepts a message <em>at</em> {@code MAX_TERM}. A member that sends one
 * heartbeat at that term to the others moves them to it; every election from then on must be at
 * {@code MAX_TERM + 1}, which every node refuses as out of range, so no leader is ever elected
 * again, and the term is saved, so a restart does not help. The same outage the issue reported at
 * 2^63 − 1, moved to 2^62.
 *
 * <p>Fixed by bounding how far one message may raise a term ({@code MessageValidator.MAX_TERM_JUMP}).
 */
class TermCeilingTest {

    @Test
    void heartbeatAtTheLargestValidTermFromAMemberDoesNotStopElectionsForGood() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");

        // n3, a member, claims to lead term MAX_TERM; both others adopt it, as they adopt any valid term.
        cluster.inject(new Heartbeat("n3", "n1", MessageValidator.MAX_TERM, 0, 0));
        cluster.inject(new Heartbeat("n3", "n2", MessageValidator.MAX_TERM, 0, 0));
        cluster.isolate("n3"); // and goes quiet

        cluster.runTicks(20 * cluster.config().electionTimeoutMaxTicks());

        assertThat(cluster.leader()).as("a leader among n1 and n2 after 20 election timeouts (terms %s, %s)",
                cluster.node("n1").currentTerm(), cluster.node("n2").currentTerm()).isNotNull();
        assertThat(cluster.node(cluster.leader()).role()).isEqualTo(Role.LEADER);
    }
}
