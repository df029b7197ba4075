package com.example.legacy;

/** The one interface the legacy (Dubbo 2.7) provider exports, version 1.0.0. */
public interface GreetingService {
  /** "Hello, NAME (from PROVIDER)". */
  String greet(String name);

  /** The provider's --name. */
  String whoami();
}
