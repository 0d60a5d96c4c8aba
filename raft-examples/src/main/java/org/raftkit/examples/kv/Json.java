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
    /**
     * Parses a request body that must be one flat JSON object whose values are strings, booleans,
     * numbers or null (the membership endpoints' bodies): each value as a String, Boolean, the
     * number's text, or null. Strict, so a malformed body is refused rather than half read.
     *
     * @throws IllegalArgumentException saying what is wrong and where
     */
    static java.util.Map<String, Object> parseFlatObject(String json) {
        FlatParser p = new FlatParser(json);
        java.util.Map<String, Object> fields = new java.util.LinkedHashMap<>();
        p.skipSpace();
        p.expect('{');
        p.skipSpace();
        if (!p.take('}')) {
            do {
                p.skipSpace();
                String name = p.string();
                p.skipSpace();
                p.expect(':');
                p.skipSpace();
                if (fields.containsKey(name)) {
                    throw new IllegalArgumentException("field " + quote(name) + " appears twice");
                }
                fields.put(name, p.scalar());
                p.skipSpace();
            } while (p.take(','));
            p.expect('}');
        }
        p.skipSpace();
        if (!p.atEnd()) {
            throw new IllegalArgumentException("unexpected text after the object at offset " + p.at);
        }
        return fields;
    }

    /** A cursor over the text {@link #parseFlatObject} reads. */
    private static final class FlatParser {
        private final String s;
        private int at;

        FlatParser(String s) {
            this.s = s;
        }

        boolean atEnd() {
            return at >= s.length();
        }

        void skipSpace() {
            while (at < s.length() && " \t\r\n".indexOf(s.charAt(at)) >= 0) {
                at++;
            }
        }

        boolean take(char c) {
            if (at < s.length() && s.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        void expect(char c) {
            if (!take(c)) {
                throw new IllegalArgumentException("expected '" + c + "' at offset " + at
                        + (atEnd() ? " (end of body)" : ", found '" + s.charAt(at) + "'"));
            }
        }

        String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (at < s.length()) {
                char c = s.charAt(at++);
                if (c == '"') {
                    return b.toString();
                }
                if (c < 0x20) {
                    throw new IllegalArgumentException("control character in a string at offset " + (at - 1));
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (atEnd()) {
                    break;
                }
                char e = s.charAt(at++);
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (at + 4 > s.length()) {
                            throw new IllegalArgumentException("short \\u escape at offset " + at);
                        }
                        try {
                            b.append((char) Integer.parseInt(s.substring(at, at + 4), 16));
                        } catch (NumberFormatException x) {
                            throw new IllegalArgumentException("bad \\u escape at offset " + at);
                        }
                        at += 4;
                    }
                    default -> throw new IllegalArgumentException("bad escape '\\" + e + "' at offset " + (at - 1));
                }
            }
            throw new IllegalArgumentException("unterminated string");
        }

        Object scalar() {
            if (atEnd()) {
                throw new IllegalArgumentException("expected a value at the end of the body");
            }
            char c = s.charAt(at);
            if (c == '"') {
                return string();
            }
            for (String word : new String[] {"true", "false", "null"}) {
                if (s.startsWith(word, at)) {
                    at += word.length();
                    return word.equals("null") ? null : Boolean.valueOf(word);
                }
            }
            int start = at;
            while (at < s.length() && "+-.eE0123456789".indexOf(s.charAt(at)) >= 0) {
                at++;
            }
            if (at == start) {
                throw new IllegalArgumentException("expected a string, number, true, false or null at offset " + at
                        + " (objects and arrays are not accepted here)");
            }
            return s.substring(start, at);
        }
    }
}
