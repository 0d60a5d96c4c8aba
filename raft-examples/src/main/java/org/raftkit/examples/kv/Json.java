package org.raftkit.examples.kv;

/**
 * Writes the few JSON documents the example produces (status, errors, benchmark results) without a
 * JSON library: {@link #quote} is the one place that escapes a string.
 */
final class Json {

    private Json() {
    }

    /** {@code s} as a JSON string literal, or {@code null} for a null string. */
    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** The error body of docs/OPERATIONS.md: {@code {"error":"<code>","message":"…"}}. */
    static String error(String code, String message) {
        return "{\"error\":" + quote(code) + ",\"message\":" + quote(message) + "}";
    }

    /**
     * The value of a top-level string or number field in a flat JSON object, or null if absent.
     * Enough for reading this example's own status document; not a general parser.
     */
    static String field(String json, String name) {
        String needle = quote(name) + ":";
        int at = json.indexOf(needle);
        if (at < 0) {
            return null;
        }
        int start = at + needle.length();
        if (start < json.length() && json.charAt(start) == '"') {
            StringBuilder value = new StringBuilder();
            for (int i = start + 1; i < json.length(); i++) {
                char c = json.charAt(i);
                if (c == '"') {
                    return value.toString();
                }
                if (c == '\\' && i + 1 < json.length()) {
                    char e = json.charAt(++i);
                    switch (e) {
                        case 'n' -> value.append('\n');
                        case 'r' -> value.append('\r');
                        case 't' -> value.append('\t');
                        case 'u' -> {
                            if (i + 4 < json.length()) {
                                value.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16));
                                i += 4;
                            }
                        }
                        default -> value.append(e);
                    }
                } else {
                    value.append(c);
                }
            }
            return null;
        }
        int end = start;
        while (end < json.length() && ",}]".indexOf(json.charAt(end)) < 0) {
            end++;
        }
        String raw = json.substring(start, end).trim();
        return raw.equals("null") ? null : raw;
    }
}
