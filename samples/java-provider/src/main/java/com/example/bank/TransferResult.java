package com.example.bank;

import java.io.Serializable;
import java.math.BigDecimal;
import java.time.LocalDateTime;
import java.util.List;

/** What AccountService.transfer returns: every input field echoed, plus ids and the new balance. */
public class TransferResult implements Serializable {
  private static final long serialVersionUID = 1L;

  private long transferId;
  private long from;
  private long to;
  private BigDecimal amount;
  private Currency currency;
  private BigDecimal balanceAfter;
  private LocalDateTime executeAt;
  private List<String> tags;
  private String requestId;
  private String memo;

  public TransferResult() {}

  public long getTransferId() { return transferId; }
  public void setTransferId(long transferId) { this.transferId = transferId; }
  public long getFrom() { return from; }
  public void setFrom(long from) { this.from = from; }
  public long getTo() { return to; }
  public void setTo(long to) { this.to = to; }
  public BigDecimal getAmount() { return amount; }
  public void setAmount(BigDecimal amount) { this.amount = amount; }
  public Currency getCurrency() { return currency; }
  public void setCurrency(Currency currency) { this.currency = currency; }
  public BigDecimal getBalanceAfter() { return balanceAfter; }
  public void setBalanceAfter(BigDecimal balanceAfter) { this.balanceAfter = balanceAfter; }
  public LocalDateTime getExecuteAt() { return executeAt; }
  public void setExecuteAt(LocalDateTime executeAt) { this.executeAt = executeAt; }
  public List<String> getTags() { return tags; }
  public void setTags(List<String> tags) { this.tags = tags; }
  public String getRequestId() { return requestId; }
  public void setRequestId(String requestId) { this.requestId = requestId; }
  public String getMemo() { return memo; }
  public void setMemo(String memo) { this.memo = memo; }
}
