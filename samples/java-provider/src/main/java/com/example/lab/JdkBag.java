package com.example.lab;

import com.example.bank.Currency;
import java.io.Serializable;
import java.time.ZoneId;
import java.util.EnumSet;
import java.util.Locale;
import java.util.UUID;

/**
 * The java.util and java.time values with a JSON form of their own, as POJO fields. No primitive
 * float field: hessian-lite 4.0.4 (Dubbo 3.3.6) reads one with Unsafe.putDouble and corrupts the
 * object (apache/dubbo#15670); a boxed Float is read correctly.
 */
public class JdkBag implements Serializable {
  private static final long serialVersionUID = 1L;

  private UUID id;
  private java.util.Currency money;
  private Locale locale;
  private ZoneId zone;
  private EnumSet<Currency> currencies;
  private Float ratio;

  public JdkBag() {}

  public UUID getId() { return id; }
  public java.util.Currency getMoney() { return money; }
  public Locale getLocale() { return locale; }
  public ZoneId getZone() { return zone; }
  public EnumSet<Currency> getCurrencies() { return currencies; }
  public Float getRatio() { return ratio; }
}
