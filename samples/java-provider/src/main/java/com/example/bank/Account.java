package com.example.bank;

import java.io.Serializable;
import java.math.BigDecimal;
import java.time.LocalDateTime;
import java.util.List;

/** A bank account, as returned by AccountService. A plain bean: no-arg constructor, getters/setters. */
public class Account implements Serializable {
  private static final long serialVersionUID = 1L;

  private long id;
  private String owner;
  private BigDecimal balance;
  private Currency currency;
  private LocalDateTime openedAt;
  private List<String> tags;
  private boolean active;

  public Account() {}

  public long getId() { return id; }
  public void setId(long id) { this.id = id; }
  public String getOwner() { return owner; }
  public void setOwner(String owner) { this.owner = owner; }
  public BigDecimal getBalance() { return balance; }
  public void setBalance(BigDecimal balance) { this.balance = balance; }
  public Currency getCurrency() { return currency; }
  public void setCurrency(Currency currency) { this.currency = currency; }
  public LocalDateTime getOpenedAt() { return openedAt; }
  public void setOpenedAt(LocalDateTime openedAt) { this.openedAt = openedAt; }
  public List<String> getTags() { return tags; }
  public void setTags(List<String> tags) { this.tags = tags; }
  public boolean isActive() { return active; }
  public void setActive(boolean active) { this.active = active; }

  @Override
  public String toString() {
    return "Account{id=" + id + ", owner=" + owner + ", balance=" + balance + ", currency=" + currency
        + ", openedAt=" + openedAt + ", tags=" + tags + ", active=" + active + "}";
  }
}
