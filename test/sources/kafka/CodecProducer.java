// Writes the lines of stdin, a record each, to partition 0 of a topic with Kafka's reference Java
// client compressing its record batches with a codec, as Java producers configured with
// compression.type write them, for test/sources/kafka-codecs.test.ts. Run from source, no build:
//   java -cp '<kafka lib>/*' CodecProducer.java <bootstrap> <topic> <gzip|snappy|lz4|zstd> < lines
// The records are sent without waiting and lingered on, so batches hold many of them. Prints what
// the producer measured, as JSON: records per produce request (one batch each: one partition) and
// compressed over uncompressed batch size, so the caller can check the batches were what it meant.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.StringSerializer;

public class CodecProducer {
  public static void main(String[] args) throws Exception {
    String topic = args[1];
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("acks", "all");
    p.put("compression.type", args[2]);
    // A batch closes at 64 kB (compressed, as the producer estimates it) or after 200 ms.
    p.put("linger.ms", "200");
    p.put("batch.size", Integer.toString(64 * 1024));
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; )
        if (!line.isEmpty()) sent.add(producer.send(new ProducerRecord<>(topic, 0, null, line)));
      producer.flush();
      for (Future<RecordMetadata> f : sent) f.get();
      System.out.printf(
          "{\"sent\":%d,\"records_per_request\":%s,\"compression_rate\":%s}%n",
          sent.size(),
          metric(producer, "records-per-request-avg"),
          metric(producer, "compression-rate-avg"));
    }
  }

  static Object metric(KafkaProducer<?, ?> producer, String name) {
    for (var e : producer.metrics().entrySet()) {
      MetricName m = e.getKey();
      if (m.group().equals("producer-metrics") && m.name().equals(name)) return ((Metric) e.getValue()).metricValue();
    }
    throw new IllegalStateException("no producer metric " + name);
  }
}
