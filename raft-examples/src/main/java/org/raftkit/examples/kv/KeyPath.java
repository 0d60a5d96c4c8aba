package org.raftkit.examples.kv;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A key as it appears in a request path ({@code /v1/kv/{key}}), decoded strictly: {@code %XX}
 * escapes become bytes, every other character stands for itself ({@code +} included: it means a
 * space only in a query string, never in a path), and the bytes must be valid UTF-8. A key that
 * decodes to malformed UTF-8 is refused rather than mapped to U+FFFD, where two different keys
 * would collide.
 */
final class KeyPath {

    private KeyPath() {
    }

    /**
     * Decodes the raw path segment(s) after the prefix.
     *
     * @throws IllegalArgumentException with a message for the client, if the escapes are broken or
     *                                  the bytes are not UTF-8
     */
    static String decode(String raw) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length()) {
                    throw new IllegalArgumentException("the key has an unfinished %-escape at position " + i);
                }
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw new IllegalArgumentException("the key has a bad %-escape '" + raw.substring(i, i + 3)
                            + "' at position " + i);
                }
                bytes.write(hi << 4 | lo);
                i += 2;
            } else {
                // The request line arrives as ISO-8859-1 characters, one per byte.
                bytes.write(c);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the key is not valid UTF-8 once %-decoded");
        }
    }
}
