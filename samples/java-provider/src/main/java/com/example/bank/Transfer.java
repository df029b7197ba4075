package com.example.bank;

import java.io.Serializable;
import java.math.BigDecimal;
import java.time.LocalDateTime;
import java.util.List;

/** A transfer request: the second argument of AccountService.transfer. */
public class Transfer implements Serializable {
  private static final long serialVersionUID = 1L;

  private long to;
  private BigDecimal amount;
  private Currency currency;
  private String memo;
  private LocalDateTime executeAt;
  private List<String> tags;

  public Transfer() {}

  public long getTo() { return to; }
  public void setTo(long to) { this.to = to; }
  public BigDecimal getAmount() { return amount; }
  public void setAmount(BigDecimal amount) { this.amount = amount; }
  public Currency getCurrency() { return currency; }
  public void setCurrency(Currency currency) { this.currency = currency; }
  public String getMemo() { return memo; }
  public void setMemo(String memo) { this.memo = memo; }
  public LocalDateTime getExecuteAt() { return executeAt; }
  public void setExecuteAt(LocalDateTime executeAt) { this.executeAt = executeAt; }
  public List<String> getTags() { return tags; }
  public void setTags(List<String> tags) { this.tags = tags; }
}
