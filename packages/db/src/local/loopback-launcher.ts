/**
 * A Java program, run from source by the JVM's source launcher (`java File.java`, which needs a JDK's compiler),
 * that starts DynamoDB Local exactly as its own `main` would, but binds it to loopback on a port the kernel
 * picks, and prints that port. DynamoDB Local itself can only listen on every interface, on a port named on its
 * command line, which any other local user can read and take first.
 */
export const LOOPBACK_LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
export const LISTENING_PREFIX = 'LEONIDAS_DYNAMODB_LOCAL_PORT=';

export const LOOPBACK_LAUNCHER_SOURCE = `
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class ${LOOPBACK_LAUNCHER_CLASS} {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    ServerConnector connector = (ServerConnector) ((Server) field.get(proxy)).getConnectors()[0];
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    proxy.start();
    System.out.println("${LISTENING_PREFIX}" + connector.getLocalPort());
    proxy.join();
  }
}
`;
