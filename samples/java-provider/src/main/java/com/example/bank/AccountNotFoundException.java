package com.example.bank;

/** Checked: the account id does not exist. Message "account <id> not found". */
public class AccountNotFoundException extends Exception {
  private static final long serialVersionUID = 1L;

  private long accountId;

  public AccountNotFoundException() {
    super();
  }

  public AccountNotFoundException(long accountId) {
    super("account " + accountId + " not found");
    this.accountId = accountId;
  }

  public long getAccountId() { return accountId; }
}
