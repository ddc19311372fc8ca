/**
 * A Java program, run from source by the JVM's source launcher (`java File.java`, which needs a JDK's compiler),
 * that starts DynamoDB Local exactly as its own `main` would, but binds it to loopback on a port the kernel
 * picks, and prints that port. DynamoDB Local itself can only listen on every interface, on a port named on its
 * command line, which any other local user can read and take first. It also exits when its standard input
 * ends: the server holds that pipe open, and the kernel closes it when the server dies however it dies (even
 * SIGKILL, which runs no exit handler), so no JVM outlives its server to hold the database's files.
 */
export const LOOPBACK_LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
export const LISTENING_PREFIX = 'LEONIDAS_DYNAMODB_LOCAL_PORT=';
/** The system property naming the port to listen on; 0 (the default) lets the kernel pick one. */
export const PORT_PROPERTY = 'leonidas.port';

export const LOOPBACK_LAUNCHER_SOURCE = `
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class ${LOOPBACK_LAUNCHER_CLASS} {
  public static void main(String[] args) throws Exception {
    Thread parentWatch = new Thread(() -> {
      try {
        while (System.in.read() != -1) {}
      } catch (Exception ignored) {
      }
      Runtime.getRuntime().halt(0);
    });
    parentWatch.setDaemon(true);
    parentWatch.start();
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    ServerConnector connector = (ServerConnector) ((Server) field.get(proxy)).getConnectors()[0];
    connector.setHost("127.0.0.1");
    connector.setPort(Integer.getInteger("${PORT_PROPERTY}", 0));
    proxy.start();
    System.out.println("${LISTENING_PREFIX}" + connector.getLocalPort());
    proxy.join();
  }
}
`;
