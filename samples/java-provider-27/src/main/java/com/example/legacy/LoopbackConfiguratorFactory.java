package com.example.legacy;

import org.apache.dubbo.common.URL;
import org.apache.dubbo.rpc.cluster.Configurator;
import org.apache.dubbo.rpc.cluster.ConfiguratorFactory;

/**
 * Registers the loopback host: Dubbo 2.7, like 3.x, treats 127.x as "no host" and would register
 * the machine's first non-loopback address (and refuses 127.x in DUBBO_IP_TO_REGISTRY); tests talk
 * to loopback only. Dubbo's ConfiguratorFactory extension, applied to each exported URL of the
 * "dubbo" protocol (META-INF/dubbo/org.apache.dubbo.rpc.cluster.ConfiguratorFactory).
 */
public final class LoopbackConfiguratorFactory implements ConfiguratorFactory {
  static final String PROPERTY = "ferry.legacy.registerHost";

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
        return exported.setHost(host).addParameter("bind.ip", host).addParameter("anyhost", "false");
      }
    };
  }
}
