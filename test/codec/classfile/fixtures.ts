/** Java sources of a small API, compiled by the class-file tests (test/support/javac.ts). */
export const API_SOURCES: Readonly<Record<string, string>> = {
  'com/acme/shop/Base.java': `package com.acme.shop;
public abstract class Base implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  protected long id;
  private transient String cache;
  public static int counter;
}`,
  'com/acme/shop/Order.java': `package com.acme.shop;
import java.math.BigDecimal;
import java.util.*;
public class Order extends Base {
  private String customer;
  private List<Line> lines;
  private Map<String, BigDecimal> totals;
  private Status status;
  private byte[] signature;
  private int[][] grid;
  private Set<? extends Long> numbers;
  private java.time.Instant placedAt;
}`,
  'com/acme/shop/Line.java': `package com.acme.shop;
public class Line {
  private String sku;
  private int quantity;
  private Line next;
}`,
  'com/acme/shop/Status.java': `package com.acme.shop;
public enum Status { NEW, PAID, SHIPPED; private final int x = 1; }`,
  'com/acme/shop/Page.java': `package com.acme.shop;
public class Page<T> {
  private java.util.List<T> items;
  private T first;
  private long total;
}`,
  'com/acme/shop/Named.java': `package com.acme.shop;
public interface Named { String name(long id); }`,
  'com/acme/shop/OrderService.java': `package com.acme.shop;
import java.util.*;
public interface OrderService extends Named {
  Order get(long orderId) throws OrderMissing;
  List<Order> list(int limit, Status status);
  Page<Order> page(int number);
  void cancel(long orderId, String reason);
  Map<String, List<Long>> index(String[] keys, byte[] blob);
  <T extends Order> T same(T order);
  java.util.Optional<String> when(long orderId);
  String name(long id);
  static OrderService none() { return null; }
}`,
  'com/acme/shop/OrderMissing.java': `package com.acme.shop;
public class OrderMissing extends Exception { }`,
};
