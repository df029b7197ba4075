package com.example.sample;

import com.example.bank.AccountService;
import com.example.lab.TypeLabService;
import com.example.sample.greeter.Greeter;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.SslConfig;
import org.apache.dubbo.config.ProviderConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;

/**
 * Ferry's sample Apache Dubbo provider (API bootstrap, no Spring).
 *
 * <pre>
 * java -jar ferry-sample-provider.jar [--dubbo-port 20880] [--triple-port 0] [--registry URL]
 *      [--name NAME] [--threads 200] [--host 127.0.0.1] [--register-mode interface|instance|all]
 *      [--verbose] [--exit-on-stdin-eof] [--application ferry-sample-provider]
 *      [--metadata-type local|remote] [--weight N] [--warmup MS] [--tag TAG]
 *      [--serialization hessian2] [--prefer-serialization LIST]
 * </pre>
 *
 * <ul>
 *   <li>dubbo protocol (hessian2) on --dubbo-port: com.example.bank.AccountService:1.0.0 and
 *       com.example.lab.TypeLabService; fixed thread pool of --threads with queues=0, so a full
 *       pool answers status 100 (SERVER_THREADPOOL_EXHAUSTED_ERROR)
 *   <li>Triple on --triple-port (0 = off): ferry.sample.v1.Greeter:1.0.0 (protobuf IDL)
 *   <li>--registry zookeeper://host:port or nacos://host:port registers every service; by default
 *       interface-level only (ZooKeeper /dubbo/&lt;interface&gt;/providers/&lt;url&gt;, Nacos service
 *       providers:&lt;interface&gt;:&lt;version&gt;:&lt;group&gt;); --register-mode instance or all adds
 *       Dubbo 3's application-level registration; without --registry nothing is registered
 *   <li>prints exactly one line "FERRY-SAMPLE READY dubbo=&lt;port&gt; triple=&lt;port&gt;" to stdout
 *       when all protocols listen; all logging goes to stderr
 *   <li>SIGTERM: Dubbo's shutdown hook unregisters, sends the read-only event to connected
 *       consumers, and closes the servers
 *   <li>--exit-on-stdin-eof: exit when stdin closes (so a crashed test runner leaves no JVM)
 * </ul>
 */
public final class SampleProvider {
  private SampleProvider() {}

  /** Parsed command line. */
  static final class Options {
    int dubboPort = 20880;
    int triplePort = 0;
    String registry = null;
    String name = "sample-provider";
    int threads = 200;
    String host = "127.0.0.1";
    String registerMode = "interface";
    boolean verbose = false;
    boolean exitOnStdinEof = false;
    String application = "ferry-sample-provider";
    String metadataType = "local";
    Integer weight = null;
    Integer warmupMs = null;
    String tag = null;
    String serialization = "hessian2";
    String preferSerialization = null;
    String tlsCert = null;
    String tlsKey = null;
    String tlsClientCa = null;
    String token = null;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--dubbo-port" -> o.dubboPort = Integer.parseInt(value(args, ++i, a));
          case "--triple-port" -> o.triplePort = Integer.parseInt(value(args, ++i, a));
          case "--registry" -> o.registry = value(args, ++i, a);
          case "--name" -> o.name = value(args, ++i, a);
          case "--threads" -> o.threads = Integer.parseInt(value(args, ++i, a));
          case "--host" -> o.host = value(args, ++i, a);
          case "--register-mode" -> o.registerMode = value(args, ++i, a);
          case "--verbose" -> o.verbose = true;
          case "--exit-on-stdin-eof" -> o.exitOnStdinEof = true;
          case "--application" -> o.application = value(args, ++i, a);
          case "--metadata-type" -> o.metadataType = value(args, ++i, a);
          case "--weight" -> o.weight = Integer.parseInt(value(args, ++i, a));
          case "--warmup" -> o.warmupMs = Integer.parseInt(value(args, ++i, a));
          case "--tag" -> o.tag = value(args, ++i, a);
          case "--serialization" -> o.serialization = value(args, ++i, a);
          case "--prefer-serialization" -> o.preferSerialization = value(args, ++i, a);
          case "--tls-cert" -> o.tlsCert = value(args, ++i, a);
          case "--tls-key" -> o.tlsKey = value(args, ++i, a);
          case "--tls-client-ca" -> o.tlsClientCa = value(args, ++i, a);
          case "--token" -> o.token = value(args, ++i, a);
          default -> throw new IllegalArgumentException("unknown flag: " + a);
        }
      }
      if (o.registry != null && (o.registry.isEmpty() || o.registry.equals("none"))) {
        o.registry = null;
      }
      if (!List.of("interface", "instance", "all").contains(o.registerMode)) {
        throw new IllegalArgumentException("--register-mode must be interface, instance or all");
      }
      if ((o.tlsCert == null) != (o.tlsKey == null) || (o.tlsClientCa != null && o.tlsCert == null)) {
        throw new IllegalArgumentException("--tls-cert and --tls-key go together (and --tls-client-ca needs them)");
      }
      if (!List.of("local", "remote").contains(o.metadataType)) {
        throw new IllegalArgumentException("--metadata-type must be local or remote");
      }
      return o;
    }

    private static String value(String[] args, int i, String flag) {
      if (i >= args.length) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      return args[i];
    }
  }

  public static void main(String[] args) throws Exception {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("ferry-sample-provider: " + e.getMessage());
      System.exit(2);
      return;
    }
    quietLogging();
    if (o.exitOnStdinEof) {
      exitOnEof(System.in);
    }
    // Nothing may reach outside the machine or slow the start.
    System.setProperty("dubbo.application.qos-enable", "false");
    System.setProperty("dubbo.application.qos.enable", "false");
    System.setProperty("dubbo.application.enable-file-cache", "false");
    System.setProperty("dubbo.metrics.enabled", "false");
    System.setProperty("dubbo.tracing.enabled", "false");
    if (o.registry != null && o.registry.startsWith("nacos:")) {
      nacosClientDirs(o.dubboPort);
    }
    // Dubbo ignores 127.x hosts (see LoopbackConfiguratorFactory); this puts them back.
    System.setProperty(LoopbackConfiguratorFactory.PROPERTY, o.host);

    ApplicationConfig app = new ApplicationConfig(o.application);
    app.setQosEnable(false);
    app.setLogger("jdk");
    // Interface-level registration by default: /dubbo/<interface>/providers/<url>.
    app.setRegisterMode(o.registerMode);
    // local: consumers ask the instance's MetadataService for a revision's MetadataInfo; remote:
    // it is also published in the metadata report (ZooKeeper /dubbo/metadata/<app>/<revision>).
    app.setMetadataType(o.metadataType);
    app.setEnableFileCache(false);

    RegistryConfig registry;
    if (o.registry == null) {
      registry = new RegistryConfig(RegistryConfig.NO_AVAILABLE);
    } else {
      registry = new RegistryConfig(o.registry);
      registry.setUseAsConfigCenter(false);
      // Application-level registration needs a metadata report for the interface -> application
      // mapping (/dubbo/mapping/<interface>) and for metadata-type=remote; as in Dubbo's default,
      // the registry is that report. Interface-level registration writes nothing else.
      registry.setUseAsMetadataCenter(!o.registerMode.equals("interface"));
      registry.setRegisterMode(o.registerMode);
      registry.setTimeout(10000);
    }

    ProtocolConfig dubbo = new ProtocolConfig("dubbo", o.dubboPort);
    dubbo.setId("dubbo");
    dubbo.setHost(o.host);
    dubbo.setSerialization(o.serialization);
    dubbo.setPreferSerialization(o.preferSerialization != null ? o.preferSerialization : o.serialization);
    dubbo.setThreadpool("fixed");
    dubbo.setThreads(o.threads);
    dubbo.setQueues(0);

    List<ProtocolConfig> protocols = new ArrayList<>();
    protocols.add(dubbo);
    ProtocolConfig tri = null;
    if (o.triplePort > 0) {
      tri = new ProtocolConfig("tri", o.triplePort);
      tri.setId("tri");
      tri.setHost(o.host);
      protocols.add(tri);
    }

    // TLS on the dubbo (and Triple) port as Dubbo 3 serves it: an SslConfig with the server's
    // certificate and key (and a client CA: mutual TLS), and sslEnabled on each protocol.
    SslConfig ssl = null;
    if (o.tlsCert != null) {
      ssl = new SslConfig();
      ssl.setServerKeyCertChainPath(o.tlsCert);
      ssl.setServerPrivateKeyPath(o.tlsKey);
      if (o.tlsClientCa != null) {
        ssl.setServerTrustCertCollectionPath(o.tlsClientCa);
      }
      for (ProtocolConfig p : protocols) {
        p.setSslEnabled(true);
      }
    }

    ProviderConfig provider = new ProviderConfig();
    provider.setTimeout(60000);
    provider.setRetries(0);
    if (o.weight != null) {
      provider.setWeight(o.weight);
    }
    if (o.warmupMs != null) {
      provider.setWarmup(o.warmupMs);
    }
    if (o.tag != null) {
      provider.setTag(o.tag);
    }

    ServiceConfig<AccountService> accounts = new ServiceConfig<>();
    accounts.setInterface(AccountService.class);
    accounts.setRef(logged(AccountService.class, new AccountServiceImpl(o.name), o.verbose));
    accounts.setVersion("1.0.0");
    accounts.setProtocol(dubbo);
    if (o.token != null) {
      // Every call must carry this in its `token` attachment (Dubbo's TokenFilter); the registry URL says token=...
      accounts.setToken(o.token);
    }

    ServiceConfig<TypeLabService> lab = new ServiceConfig<>();
    lab.setInterface(TypeLabService.class);
    lab.setRef(logged(TypeLabService.class, new TypeLabServiceImpl(), o.verbose));
    lab.setProtocol(dubbo);

    DubboBootstrap bootstrap = DubboBootstrap.getInstance()
        .application(app)
        .registry(registry)
        .protocols(protocols)
        .provider(provider)
        .service(accounts)
        .service(lab);
    if (ssl != null) {
      bootstrap.ssl(ssl);
    }

    if (tri != null) {
      ServiceConfig<Greeter> greeter = new ServiceConfig<>();
      greeter.setInterface(Greeter.class);
      // The generated stub base class is what Triple dispatches to, so it logs by itself.
      greeter.setRef(new GreeterImpl(o.name, o.verbose));
      greeter.setVersion("1.0.0");
      greeter.setProtocol(tri);
      bootstrap.service(greeter);
    }

    bootstrap.start();
    System.out.println("FERRY-SAMPLE READY dubbo=" + o.dubboPort + " triple=" + (tri == null ? 0 : o.triplePort));
    System.out.flush();
    // Dubbo's own shutdown hook handles SIGTERM; keep the main thread parked until then.
    new CountDownLatch(1).await();
  }

  /**
   * The Nacos client writes its own log files and a naming snapshot under the user's home by
   * default; keep both in a per-provider temp folder (unless set on the command line), and let its
   * logging go through slf4j to JUL like everything else.
   */
  private static void nacosClientDirs(int port) {
    String base = System.getProperty("java.io.tmpdir") + "/ferry-sample-nacos-" + port;
    if (System.getProperty("JM.LOG.PATH") == null) {
      System.setProperty("JM.LOG.PATH", base + "/logs");
    }
    if (System.getProperty("JM.SNAPSHOT.PATH") == null) {
      System.setProperty("JM.SNAPSHOT.PATH", base);
    }
    if (System.getProperty("nacos.logging.default.config.enabled") == null) {
      System.setProperty("nacos.logging.default.config.enabled", "false");
    }
  }

  /** Only warnings and errors from Dubbo/ZooKeeper, and all of it to stderr (JUL's default). */
  private static void quietLogging() {
    Logger root = Logger.getLogger("");
    root.setLevel(Level.WARNING);
    for (var h : root.getHandlers()) {
      h.setLevel(Level.WARNING);
    }
  }

  private static void exitOnEof(InputStream in) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[256];
      try {
        while (in.read(buf) >= 0) {
          // only EOF matters
        }
      } catch (IOException ignored) {
        // same as EOF
      }
      System.err.println("ferry-sample-provider: stdin closed, exiting");
      Thread halter = new Thread(() -> {
        try {
          Thread.sleep(15000);
        } catch (InterruptedException ignored) {
          return;
        }
        Runtime.getRuntime().halt(3);
      });
      halter.setDaemon(true);
      halter.start();
      System.exit(0);
    }, "stdin-eof-watch");
    t.setDaemon(true);
    t.start();
  }

  /**
   * With --verbose, wraps the implementation in a JDK proxy that prints each call's method name to
   * stderr; otherwise returns the implementation itself.
   */
  @SuppressWarnings("unchecked")
  static <T> T logged(Class<T> iface, T impl, boolean verbose) {
    if (!verbose) {
      return impl;
    }
    InvocationHandler h = (proxy, method, args) -> {
      System.err.println("ferry-sample-provider: call " + iface.getSimpleName() + "." + method.getName());
      try {
        return method.invoke(impl, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    };
    return (T) Proxy.newProxyInstance(iface.getClassLoader(), new Class<?>[] {iface}, h);
  }
}
