package com.example.bank;

import java.math.BigDecimal;

/** Checked: a transfer asked for more than the balance. Message "insufficient funds: short by <x>". */
public class InsufficientFundsException extends Exception {
  private static final long serialVersionUID = 1L;

  private BigDecimal shortBy;

  public InsufficientFundsException() {
    super();
  }

  public InsufficientFundsException(BigDecimal shortBy) {
    super("insufficient funds: short by " + shortBy);
    this.shortBy = shortBy;
  }

  public BigDecimal getShortBy() { return shortBy; }
}
