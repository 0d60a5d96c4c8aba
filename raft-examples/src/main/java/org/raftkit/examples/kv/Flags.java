package org.raftkit.examples.kv;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A sub-command's command line: {@code --name value} (or {@code --name=value}) flags from a fixed
 * set, plus positional arguments. Every mistake is a {@link UsageException} whose message names
 * the flag and what was wrong with it.
 */
final class Flags {

    /** A wrong command line; the message is printed as it is, and the process exits with 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message, null, false, false);
        }
    }

    private final String command;
    private final Map<String, String> values = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    private Flags(String command) {
        this.command = command;
    }

    /**
     * Parses {@code args} for {@code command}, accepting only the flags in {@code known} (names
     * without the dashes). A lone {@code --} ends the flags: everything after it is positional, so
     * a key may start with a dash.
     */
    static Flags parse(String command, String[] args, Set<String> known) {
        return parse(command, args, known, Set.of());
    }

    /**
     * As {@link #parse(String, String[], Set)}, also accepting the {@code switches}: flags without
     * a value ({@code --tls}), read with {@link #has}.
     */
    static Flags parse(String command, String[] args, Set<String> known, Set<String> switches) {
        Flags flags = new Flags(command);
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--")) {
                flags.positional.addAll(List.of(args).subList(i + 1, args.length));
                break;
            }
            if (!arg.startsWith("--")) {
                flags.positional.add(arg);
                continue;
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (switches.contains(name) && value == null) {
                value = "true";
            } else if (!known.contains(name)) {
                throw new UsageException("unknown flag --" + name + " for '" + command + "' (known: "
                        + String.join(", ", java.util.stream.Stream.concat(known.stream(), switches.stream()).sorted()
                        .map(k -> "--" + k).toList()) + ")");
            }
            if (value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                    throw new UsageException("flag --" + name + " needs a value");
                }
                value = args[++i];
            }
            if (flags.values.put(name, value) != null) {
                throw new UsageException("flag --" + name + " is given twice");
            }
        }
        return flags;
    }

    List<String> positional() {
        return positional;
    }

    /** Fails unless there are exactly {@code names.length} positional arguments. */
    void expectPositional(String... names) {
        if (positional.size() != names.length) {
            throw new UsageException("'" + command + "' takes " + names.length + " argument(s): "
                    + String.join(" ", names) + "; got " + positional.size());
        }
    }

    /** Whether the switch {@code name} was given. */
    boolean has(String name) {
        return values.containsKey(name);
    }

    String string(String name, String defaultValue) {
        return values.getOrDefault(name, defaultValue);
    }

    /** A required flag. */
    String required(String name) {
        String v = values.get(name);
        if (v == null || v.isEmpty()) {
            throw new UsageException("'" + command + "' needs --" + name);
        }
        return v;
    }

    int integer(String name, int defaultValue, int min, int max) {
        String v = values.get(name);
        if (v == null) {
            return defaultValue;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new UsageException("--" + name + " must be between " + min + " and " + max + ", was " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a whole number, was '" + v + "'");
        }
    }

    boolean bool(String name, boolean defaultValue) {
        String v = values.get(name);
        if (v == null) {
            return defaultValue;
        }
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new UsageException("--" + name + " must be true or false, was '" + v + "'");
        };
    }

    /** A duration like {@code 10s}, {@code 500ms}, {@code 2m} or a bare number of seconds, in milliseconds. */
    long millis(String name, long defaultMillis) {
        String v = values.get(name);
        if (v == null) {
            return defaultMillis;
        }
        try {
            double amount;
            if (v.endsWith("ms")) {
                amount = Double.parseDouble(v.substring(0, v.length() - 2));
            } else if (v.endsWith("s")) {
                amount = Double.parseDouble(v.substring(0, v.length() - 1)) * 1000;
            } else if (v.endsWith("m")) {
                amount = Double.parseDouble(v.substring(0, v.length() - 1)) * 60_000;
            } else {
                amount = Double.parseDouble(v) * 1000;
            }
            if (amount < 0 || Double.isNaN(amount) || amount > 86_400_000) {
                throw new NumberFormatException();
            }
            return (long) amount;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a duration like 10s, 500ms or 2m, was '" + v + "'");
        }
    }

    /** {@code host:port}. */
    static InetSocketAddress address(String flag, String value) {
        int colon = value.lastIndexOf(':');
        if (colon <= 0) {
            throw new UsageException("--" + flag + " must be host:port, was '" + value + "'");
        }
        String host = value.substring(0, colon);
        try {
            int port = Integer.parseInt(value.substring(colon + 1));
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            InetSocketAddress address = new InetSocketAddress(host, port);
            if (address.isUnresolved()) {
                throw new UsageException("--" + flag + ": cannot resolve host '" + host + "' in '" + value + "'");
            }
            return address;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + flag + " has a bad port in '" + value + "' (0-65535)");
        }
    }

    /** {@code n1=host:port,n2=host:port,…}, in the order given. */
    static Map<String, InetSocketAddress> peers(String flag, String value) {
        Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
        for (String part : value.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new UsageException("--" + flag + " must look like n1=127.0.0.1:7001,n2=…; bad part '" + part + "'");
            }
            String id = part.substring(0, eq).trim();
            if (peers.put(id, address(flag, part.substring(eq + 1).trim())) != null) {
                throw new UsageException("--" + flag + " names " + id + " twice");
            }
        }
        return peers;
    }
}
