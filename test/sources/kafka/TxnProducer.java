// Writes to partition 0 of a topic with Kafka's reference Java client, which (unlike the Node
// client adpipe uses) has transactions, for test/sources/kafka.test.ts. Run from source, no build:
//   java -cp '<kafka lib>/*' TxnProducer.java <bootstrap> <topic> <op>...
// Ops, in order: begin, commit, abort (the transactional producer's), t:<value> (a record in the
// open transaction), p:<value> (a record of a plain idempotent producer). Each record is sent alone
// and awaited, so the partition holds them in the order given, a batch each.
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

public class TxnProducer {
  public static void main(String[] args) throws Exception {
    String topic = args[1];
    try (KafkaProducer<String, String> txn = producer(args[0], "adpipe-test-" + topic);
        KafkaProducer<String, String> plain = producer(args[0], null)) {
      txn.initTransactions();
      for (int i = 2; i < args.length; i++) {
        String op = args[i];
        switch (op) {
          case "begin" -> txn.beginTransaction();
          case "commit" -> txn.commitTransaction();
          case "abort" -> txn.abortTransaction();
          default -> {
            KafkaProducer<String, String> to = op.startsWith("t:") ? txn : op.startsWith("p:") ? plain : null;
            if (to == null) throw new IllegalArgumentException("unknown op: " + op);
            to.send(new ProducerRecord<>(topic, 0, null, op.substring(2))).get();
          }
        }
      }
    }
  }

  static KafkaProducer<String, String> producer(String bootstrap, String transactionalId) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("acks", "all");
    if (transactionalId != null) p.put("transactional.id", transactionalId);
    return new KafkaProducer<>(p);
  }
}
