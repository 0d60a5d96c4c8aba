package org.raftkit.transport.netty;

/**
 * Makes a string a peer sent safe to put in a log line: at most {@link #MAX_CHARS} characters,
 * quoted, with quotes, backslashes and every control or line-breaking character escaped as
 * {@code \\uXXXX}. A peer can then neither flood the log with a 40 MiB id nor forge a line (an id
 * such as {@code "n2\nn2 became leader at term 31337"} stays on the line it was logged on).
 */
final class PeerText {

    /** Characters of a peer-supplied string kept in a log line; ids and cluster ids are short. */
    static final int MAX_CHARS = 64;

    private PeerText() {
    }

    /**
     * {@code value} shortened to {@link #MAX_CHARS}, escaped and in double quotes;
     * {@code …(+N chars)} marks a cut.
     */
    static String quote(String value) {
        return value == null ? "null" : "\"" + escape(value, MAX_CHARS) + "\"";
    }

    /** {@code value} shortened to {@code maxChars} and escaped, without quotes: for longer texts (a TLS error). */
    static String escape(String value, int maxChars) {
        if (value == null) {
            return "null";
        }
        int keep = Math.min(value.length(), maxChars);
        StringBuilder b = new StringBuilder(keep + 16);
        for (int i = 0; i < keep; i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029'
                    || Character.isSurrogate(c)) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (value.length() > keep) {
            b.append("…(+").append(value.length() - keep).append(" chars)");
        }
        return b.toString();
    }
}
