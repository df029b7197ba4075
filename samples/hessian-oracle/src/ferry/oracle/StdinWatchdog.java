package ferry.oracle;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * Runs another Java main class and exits the JVM when standard input reaches end-of-file.
 *
 * <p>Why: the Node test helpers start JVMs (ZooKeeper, ...) with a pipe on stdin and never write
 * to it. If the Node process dies without cleaning up (crash, SIGKILL of the test runner), the
 * pipe closes, this thread reads EOF, and the JVM goes away instead of lingering as an orphan.
 *
 * <p>Usage: {@code java -cp <this>:<target jars> ferry.oracle.StdinWatchdog <main class> [args...]}
 */
public final class StdinWatchdog {
  private StdinWatchdog() {}

  public static void main(String[] args) throws Throwable {
    if (args.length < 1) {
      System.err.println("usage: StdinWatchdog <main class> [args...]");
      System.exit(2);
    }
    watch(System.in);
    Class<?> target = Class.forName(args[0]);
    Method main = target.getMethod("main", String[].class);
    try {
      main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  /** Starts a daemon thread that exits the JVM on EOF of {@code in} (halts if exit hangs). */
  static void watch(InputStream in) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[256];
      try {
        while (in.read(buf) >= 0) {
          // ignore anything written; only EOF matters
        }
      } catch (IOException ignored) {
        // a broken pipe means the same as EOF here
      }
      Thread halter = new Thread(() -> {
        try {
          Thread.sleep(5000);
        } catch (InterruptedException ignored) {
          return;
        }
        Runtime.getRuntime().halt(3);
      }, "stdin-watchdog-halter");
      halter.setDaemon(true);
      halter.start();
      System.exit(3);
    }, "stdin-watchdog");
    t.setDaemon(true);
    t.start();
  }
}
