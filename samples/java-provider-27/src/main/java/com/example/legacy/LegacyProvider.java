package com.example.legacy;

import java.io.InputStream;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;

/**
 * A Dubbo 2.7 provider of {@link GreetingService} 1.0.0, registered interface-level in ZooKeeper:
 * {@code --dubbo-port N --registry zookeeper://127.0.0.1:2181 [--name NAME] [--host 127.0.0.1]}.
 * Prints {@code FERRY-SAMPLE READY dubbo=N triple=0} once exported; exits when stdin closes.
 */
public final class LegacyProvider {
  public static void main(String[] args) throws Exception {
    int port = 20880;
    String registry = null;
    String name = "legacy";
    String host = "127.0.0.1";
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--dubbo-port" -> port = Integer.parseInt(args[i + 1]);
        case "--registry" -> registry = args[i + 1];
        case "--name" -> name = args[i + 1];
        case "--host" -> host = args[i + 1];
        default -> throw new IllegalArgumentException("unknown flag " + args[i]);
      }
    }
    System.setProperty(LoopbackConfiguratorFactory.PROPERTY, host);
    final String me = name;

    ApplicationConfig application = new ApplicationConfig("ferry-legacy-provider");
    application.setQosEnable(false);
    RegistryConfig registryConfig = new RegistryConfig(registry == null ? "N/A" : registry);
    registryConfig.setTimeout(20000);
    // The registry only: no config center, no metadata report (2.7 would use the registry as both).
    registryConfig.setUseAsConfigCenter(false);
    registryConfig.setUseAsMetadataCenter(false);
    ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
    protocol.setHost(host);
    ServiceConfig<GreetingService> service = new ServiceConfig<>();
    service.setApplication(application);
    service.setRegistry(registryConfig);
    service.setProtocol(protocol);
    service.setInterface(GreetingService.class);
    service.setVersion("1.0.0");
    service.setTimeout(7000);
    service.setRef(
        new GreetingService() {
          @Override
          public String greet(String who) {
            return "Hello, " + who + " (from " + me + ")";
          }

          @Override
          public String whoami() {
            return me;
          }
        });
    service.export();
    System.out.println("FERRY-SAMPLE READY dubbo=" + port + " triple=0");
    System.out.flush();
    InputStream in = System.in;
    while (in.read() >= 0) {
      // a test harness keeps stdin open while it wants us
    }
    Runtime.getRuntime().halt(0);
  }
}
