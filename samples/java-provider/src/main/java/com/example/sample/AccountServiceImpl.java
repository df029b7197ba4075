package com.example.sample;

import com.example.bank.Account;
import com.example.bank.AccountNotFoundException;
import com.example.bank.AccountService;
import com.example.bank.Currency;
import com.example.bank.InsufficientFundsException;
import com.example.bank.Transfer;
import com.example.bank.TransferResult;
import java.math.BigDecimal;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.RpcContext;

/**
 * Deterministic accounts: ids 1..1000 exist, and also Long.MAX_VALUE and 2^53+1.
 *
 * <ul>
 *   <li>owner = "owner-&lt;id&gt;"
 *   <li>balance = id x 1000.25, scale 2 (id 2 gives 2000.50); huge ids: 12345678901234567890.12
 *   <li>currency = CNY for even ids, USD for odd ids
 *   <li>openedAt = 2020-01-01T00:00 plus id minutes; huge ids: 2021-06-30T23:59:59.123456789
 *   <li>tags = ["t&lt;id mod 3&gt;", "vip"] when id is divisible by 5, else ["t&lt;id mod 3&gt;"]
 *   <li>active = id % 7 != 0
 * </ul>
 */
public final class AccountServiceImpl implements AccountService {
  /** 2^53 + 1: the smallest positive long that a JavaScript number cannot hold. */
  public static final long BEYOND_DOUBLE = 9007199254740993L;

  private static final BigDecimal RATE = new BigDecimal("1000.25");
  private static final BigDecimal HUGE_BALANCE = new BigDecimal("12345678901234567890.12");
  private static final LocalDateTime EPOCH = LocalDateTime.of(2020, 1, 1, 0, 0);
  private static final LocalDateTime HUGE_OPENED = LocalDateTime.of(2021, 6, 30, 23, 59, 59, 123456789);

  private final String name;

  public AccountServiceImpl(String name) {
    this.name = name;
  }

  static boolean isHuge(long id) {
    return id == Long.MAX_VALUE || id == BEYOND_DOUBLE;
  }

  static boolean exists(long id) {
    return (id >= 1 && id <= 1000) || isHuge(id);
  }

  /** The account for an existing id (callers check {@link #exists} first). */
  static Account build(long id) {
    Account a = new Account();
    a.setId(id);
    a.setOwner("owner-" + id);
    a.setBalance(isHuge(id) ? HUGE_BALANCE : RATE.multiply(BigDecimal.valueOf(id)).setScale(2));
    a.setCurrency(id % 2 == 0 ? Currency.CNY : Currency.USD);
    a.setOpenedAt(isHuge(id) ? HUGE_OPENED : EPOCH.plusMinutes(id));
    List<String> tags = new ArrayList<>();
    tags.add("t" + (id % 3));
    if (id % 5 == 0) {
      tags.add("vip");
    }
    a.setTags(tags);
    a.setActive(id % 7 != 0);
    return a;
  }

  @Override
  public Account getAccount(long id) throws AccountNotFoundException {
    if (!exists(id)) {
      throw new AccountNotFoundException(id);
    }
    return build(id);
  }

  @Override
  public Account findAccount(long id) {
    return exists(id) ? build(id) : null;
  }

  @Override
  public List<Account> listAccounts(int limit) {
    int n = Math.max(0, Math.min(1000, limit));
    List<Account> out = new ArrayList<>(n);
    for (long id = 1; id <= n; id++) {
      out.add(build(id));
    }
    return out;
  }

  @Override
  public TransferResult transfer(long fromId, Transfer transfer, String requestId)
      throws AccountNotFoundException, InsufficientFundsException {
    Account from = getAccount(fromId);
    getAccount(transfer.getTo());
    BigDecimal amount = transfer.getAmount();
    if (amount.compareTo(from.getBalance()) > 0) {
      throw new InsufficientFundsException(amount.subtract(from.getBalance()));
    }
    TransferResult r = new TransferResult();
    // Deliberately beyond 2^53 (wraps around for Long.MAX_VALUE, like any long addition).
    r.setTransferId(BEYOND_DOUBLE + fromId);
    r.setFrom(fromId);
    r.setTo(transfer.getTo());
    r.setAmount(amount);
    r.setCurrency(transfer.getCurrency());
    r.setBalanceAfter(from.getBalance().subtract(amount));
    r.setExecuteAt(transfer.getExecuteAt());
    r.setTags(transfer.getTags());
    r.setRequestId(requestId);
    r.setMemo(transfer.getMemo());
    return r;
  }

  /**
   * A HashMap of mixed value types. "openedAt" is the account's openedAt read as UTC, as a
   * java.util.Date: epoch ms 1577836800000 + id x 60000 for ids 1..1000, and
   * 2021-06-30T23:59:59.123Z (nanos cut to millis) for the two huge ids.
   */
  @Override
  public Map<String, Object> accountSummary(long id) throws AccountNotFoundException {
    Account a = getAccount(id);
    Map<String, Object> m = new HashMap<>();
    m.put("id", Long.valueOf(id));
    m.put("owner", a.getOwner());
    m.put("balance", a.getBalance());
    m.put("active", Boolean.valueOf(a.isActive()));
    m.put("tags", new ArrayList<>(a.getTags()));
    m.put("openedAt", new Date(a.getOpenedAt().toInstant(ZoneOffset.UTC).toEpochMilli()));
    m.put("score", Double.valueOf(0.5 * id));
    Map<String, Object> nested = new HashMap<>();
    nested.put("level", Integer.valueOf(2));
    m.put("nested", nested);
    return m;
  }

  @Override
  public String ping() {
    return "pong";
  }

  @Override
  public String greet(String who) {
    return "Hello, " + who;
  }

  @Override
  public String greet(String who, int times) {
    String one = "Hello, " + who;
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      parts.add(one);
    }
    return String.join(" ", parts);
  }

  @Override
  public String slow(int millis) {
    try {
      Thread.sleep(Math.max(0, millis));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return "slept " + millis;
  }

  @Override
  public void fail(String message) {
    throw new IllegalStateException(message);
  }

  @Override
  public String whoami() {
    return name;
  }

  /** Every server-side attachment of this call, values as String.valueOf (sorted by key). */
  @Override
  public Map<String, String> receivedAttachments() {
    Map<String, String> out = new TreeMap<>();
    Map<String, Object> in = RpcContext.getServerAttachment().getObjectAttachments();
    if (in != null) {
      for (Map.Entry<String, Object> e : in.entrySet()) {
        out.put(e.getKey(), String.valueOf(e.getValue()));
      }
    }
    return new HashMap<>(out);
  }

  @Override
  public Map<String, String> invocationAttachments() {
    Map<String, String> out = new TreeMap<>();
    Invocation invocation = RpcContext.getServiceContext().getInvocation();
    if (invocation != null && invocation.getObjectAttachments() != null) {
      for (Map.Entry<String, Object> e : invocation.getObjectAttachments().entrySet()) {
        out.put(e.getKey(), String.valueOf(e.getValue()));
      }
    }
    return new HashMap<>(out);
  }
}
