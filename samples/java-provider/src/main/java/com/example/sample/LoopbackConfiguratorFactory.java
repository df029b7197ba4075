package com.example.sample;

import org.apache.dubbo.common.URL;
import org.apache.dubbo.rpc.cluster.Configurator;
import org.apache.dubbo.rpc.cluster.ConfiguratorFactory;

/**
 * Makes a provider started with {@code --host 127.0.0.1} register {@code 127.0.0.1} in its URL.
 *
 * <p>Why: Dubbo treats every 127.x host as "no host configured" (NetUtils.isInvalidLocalHost),
 * registers the machine's first non-loopback address instead, and refuses 127.x in
 * DUBBO_IP_TO_REGISTRY. Tests must only talk to loopback, so this configurator (Dubbo's own
 * extension point, applied by ServiceConfig.buildUrl to each exported URL whose protocol has one)
 * puts the loopback host back. Dubbo still binds the server socket to 0.0.0.0 for such hosts
 * (AbstractServer), which is harmless. Registered for the "dubbo" and "tri" protocols in
 * META-INF/dubbo/org.apache.dubbo.rpc.cluster.ConfiguratorFactory; active only when the system
 * property {@code ferry.sample.registerHost} is set.
 */
public final class LoopbackConfiguratorFactory implements ConfiguratorFactory {
  /** System property holding the host to put into exported URLs. */
  public static final String PROPERTY = "ferry.sample.registerHost";

  @Override
  public Configurator getConfigurator(URL url) {
    return new Configurator() {
      @Override
      public URL getUrl() {
        return url;
      }

      @Override
      public URL configure(URL exported) {
        String host = System.getProperty(PROPERTY);
        if (host == null || host.isEmpty()) {
          return exported;
        }
        // bind.ip = a 127.x host makes AbstractServer bind 0.0.0.0 (never the non-loopback address).
        return exported.setHost(host).addParameter("bind.ip", host).addParameter("anyhost", "false");
      }
    };
  }
}
