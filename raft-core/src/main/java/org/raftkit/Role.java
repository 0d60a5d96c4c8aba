package org.raftkit;

/** The role a node plays (Figure 2 "Rules for Servers", plus the PreVote phase of thesis §9.6). */
public enum Role {
    FOLLOWER,
    /** Asking for PreVotes before starting a real election; term unchanged. */
    PRE_CANDIDATE,
    CANDIDATE,
    LEADER
}
