package dev.cachesync.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;

/**
 * Debezium's capture rate over one binlog range, through its embedded engine.
 *
 * <p>Usage: {@code java -cp JARS:CLASSES dev.cachesync.bench.DebeziumRate HOST PORT USER DATABASE
 * TABLE SERVER_ID START_GTID START_FILE START_POS ROWS WORK_DIR TIMEOUT_S}, the password in the
 * environment variable {@code DEBEZIUM_BENCH_PASSWORD} (never on the command line).
 *
 * <p>Two engine runs share the file offsets and file schema history in WORK_DIR:
 * <ol>
 *   <li>{@code snapshot.mode=no_data}: Debezium records the table's structure in its schema
 *       history and the server's current binlog position in its offsets; it stops at its first
 *       heartbeat (the snapshot is over, no row was read).</li>
 *   <li>The offsets, and the schema history's records, are moved to START_GTID and
 *       START_FILE:START_POS (the start of the range, written later than the table with this
 *       structure), and the engine runs again, counting the table's insert records in the
 *       Connect format until ROWS have arrived: each row once, ids 1..ROWS (the benchmark's
 *       rows), else it fails.</li>
 * </ol>
 * Timed from the first record (start-up is not counted). Prints one JSON line to stdout;
 * exits 1 with a message on stderr on a failure or a timeout.
 */
public final class DebeziumRate {

    private static final String ENGINE_NAME = "cachesync-bench";
    private static final String TOPIC_PREFIX = "bench";

    private DebeziumRate() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 12) {
            fail("expected 12 arguments: HOST PORT USER DATABASE TABLE SERVER_ID START_GTID "
                    + "START_FILE START_POS ROWS WORK_DIR TIMEOUT_S, got " + args.length);
        }
        String password = System.getenv("DEBEZIUM_BENCH_PASSWORD");
        if (password == null) {
            fail("DEBEZIUM_BENCH_PASSWORD is not set");
        }
        String database = args[3];
        String table = args[4];
        String startGtid = args[6];
        String startFile = args[7];
        long startPos = Long.parseLong(args[8]);
        long rows = Long.parseLong(args[9]);
        Path work = Path.of(args[10]);
        long timeoutS = Long.parseLong(args[11]);
        Files.createDirectories(work);
        Path offsets = work.resolve("offsets.dat");
        Path history = work.resolve("schema-history.dat");

        Properties props = new Properties();
        props.setProperty("name", ENGINE_NAME);
        props.setProperty("connector.class", "io.debezium.connector.mariadb.MariaDbConnector");
        props.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
        props.setProperty("offset.storage.file.filename", offsets.toString());
        props.setProperty("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory");
        props.setProperty("schema.history.internal.file.filename", history.toString());
        props.setProperty("database.hostname", args[0]);
        props.setProperty("database.port", args[1]);
        props.setProperty("database.user", args[2]);
        props.setProperty("database.password", password);
        props.setProperty("database.server.id", args[5]);
        props.setProperty("database.ssl.mode", "disable");
        props.setProperty("topic.prefix", TOPIC_PREFIX);
        props.setProperty("database.include.list", database);
        props.setProperty("table.include.list", database + "." + table);
        props.setProperty("include.schema.changes", "false");
        props.setProperty("snapshot.mode", "no_data");
        props.setProperty("snapshot.locking.mode", "none");

        // Run 1: schema history and offsets, no rows.
        Properties first = (Properties) props.clone();
        first.setProperty("heartbeat.interval.ms", "100");
        first.setProperty("offset.flush.interval.ms", "0");
        CountDownLatch heartbeat = new CountDownLatch(1);
        run(first, timeoutS, heartbeat, record -> {
            if (record.topic().startsWith("__debezium-heartbeat")) {
                heartbeat.countDown();
            }
        });
        rewriteOffsets(offsets, startGtid, startFile, startPos);
        rewriteHistory(history, startGtid, startFile, startPos);

        // Run 2: the range.
        String topic = TOPIC_PREFIX + "." + database + "." + table;
        AtomicLong counted = new AtomicLong();
        AtomicLong firstAt = new AtomicLong();
        AtomicLong lastAt = new AtomicLong();
        AtomicReference<String> unexpected = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        BitSet seen = new BitSet();
        long started = System.nanoTime();
        run(props, timeoutS, done, record -> {
            if (!topic.equals(record.topic())) {
                return;
            }
            long now = System.nanoTime();
            firstAt.compareAndSet(0, now);
            Object value = record.value();
            String op = value instanceof Struct ? ((Struct) value).getString("op") : null;
            if (!"c".equals(op)) {
                unexpected.compareAndSet(null, "a record that is not an insert: op=" + op);
                done.countDown();
                return;
            }
            long id = ((Struct) record.key()).getInt64("id");
            boolean fresh;
            synchronized (seen) {
                fresh = id >= 1 && id <= rows && !seen.get((int) id);
                seen.set((int) id);
            }
            if (!fresh) {
                unexpected.compareAndSet(null, "a row outside 1.." + rows + " or seen twice: id=" + id);
                done.countDown();
                return;
            }
            if (counted.incrementAndGet() == rows) {
                lastAt.set(now);
                done.countDown();
            }
        });
        if (unexpected.get() != null) {
            fail(unexpected.get());
        }
        double seconds = (lastAt.get() - firstAt.get()) / 1e9;
        System.out.printf("{\"rows\": %d, \"seconds\": %.6f, \"rows_per_s\": %.1f, \"startup_s\": %.3f}%n",
                counted.get(), seconds, counted.get() / seconds, (firstAt.get() - started) / 1e9);
    }

    /** One engine run until the latch opens (or the timeout, or the engine stops). */
    private static void run(Properties props, long timeoutS, CountDownLatch until,
                            java.util.function.Consumer<SourceRecord> consumer) throws Exception {
        AtomicReference<String> stopped = new AtomicReference<>();
        CountDownLatch finished = new CountDownLatch(1);
        DebeziumEngine<RecordChangeEvent<SourceRecord>> engine = DebeziumEngine
                .create(ChangeEventFormat.of(Connect.class))
                .using(props)
                .using((success, message, error) -> {
                    if (!success || error != null) {
                        stopped.set(message + (error == null ? "" : ": " + error));
                    }
                    finished.countDown();
                    until.countDown();
                })
                .notifying(event -> consumer.accept(event.record()))
                .build();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        executor.execute(engine);
        boolean opened = until.await(timeoutS, TimeUnit.SECONDS);
        if (finished.getCount() > 0) {
            engine.close();
        }
        executor.shutdown();
        finished.await(60, TimeUnit.SECONDS);
        if (stopped.get() != null) {
            fail("the Debezium engine stopped: " + stopped.get());
        }
        if (!opened) {
            fail("timed out after " + timeoutS + " s");
        }
    }

    /** Points the (only) stored offset at the range's start: its GTID position and FILE:POS. */
    @SuppressWarnings("unchecked")
    private static void rewriteOffsets(Path offsets, String gtids, String file, long pos) throws IOException, ClassNotFoundException {
        Map<byte[], byte[]> raw;
        try (InputStream in = Files.newInputStream(offsets); ObjectInputStream is = new ObjectInputStream(in)) {
            raw = (Map<byte[], byte[]>) is.readObject();
        }
        if (raw.size() != 1) {
            fail("expected one stored offset after the no_data run, found " + raw.size());
        }
        ObjectMapper mapper = new ObjectMapper();
        Map<byte[], byte[]> updated = new HashMap<>();
        for (Map.Entry<byte[], byte[]> entry : raw.entrySet()) {
            ObjectNode value = (ObjectNode) mapper.readTree(entry.getValue());
            value.remove(java.util.List.of("row", "event", "snapshot", "snapshot_completed"));
            value.put("gtids", gtids);
            value.put("file", file);
            value.put("pos", pos);
            updated.put(entry.getKey(), mapper.writeValueAsString(value).getBytes(StandardCharsets.UTF_8));
        }
        try (OutputStream out = Files.newOutputStream(offsets); ObjectOutputStream os = new ObjectOutputStream(out)) {
            os.writeObject(updated);
        }
    }

    /**
     * Moves the schema history's records (the table's structure, read by the no_data run) to
     * the range's start: Debezium recovers only the history recorded at or before its offset.
     */
    private static void rewriteHistory(Path history, String gtids, String file, long pos) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        StringBuilder out = new StringBuilder();
        for (String line : Files.readAllLines(history, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            ObjectNode record = (ObjectNode) mapper.readTree(line);
            ObjectNode position = (ObjectNode) record.get("position");
            position.put("gtids", gtids);
            position.put("file", file);
            position.put("pos", pos);
            out.append(mapper.writeValueAsString(record)).append('\n');
        }
        if (out.length() == 0) {
            fail("the no_data run left an empty schema history in " + history);
        }
        Files.writeString(history, out.toString(), StandardCharsets.UTF_8);
    }

    private static void fail(String message) {
        System.err.println("DebeziumRate: " + message);
        System.exit(1);
    }
}
