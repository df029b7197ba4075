package com.example.bank;

import java.util.List;
import java.util.Map;

/**
 * The sample bank, exported over the dubbo protocol (hessian2) with version "1.0.0", no group.
 * Data is deterministic (see AccountServiceImpl) so tests can assert exact values.
 */
public interface AccountService {
  Account getAccount(long id) throws AccountNotFoundException;

  Account findAccount(long id);

  List<Account> listAccounts(int limit);

  TransferResult transfer(long fromId, Transfer transfer, String requestId)
      throws AccountNotFoundException, InsufficientFundsException;

  Map<String, Object> accountSummary(long id) throws AccountNotFoundException;

  String ping();

  String greet(String name);

  String greet(String name, int times);

  String slow(int millis);

  void fail(String message);

  String whoami();

  Map<String, String> receivedAttachments();

  /**
   * Every attachment of this call's invocation as it arrived, before Dubbo's ContextFilter drops
   * routing keys (dubbo.tag, dubbo.force.tag, path, version, ...) from what receivedAttachments() sees.
   */
  Map<String, String> invocationAttachments();
}
