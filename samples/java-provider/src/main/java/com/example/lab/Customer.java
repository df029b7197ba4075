package com.example.lab;

import java.math.BigDecimal;

/**
 * A POJO with an inherited part. Declared order (superclass first): id, createdBy, name, limit,
 * level. hessian-lite writes the fields in another order (java.lang and primitive fields apart
 * from the rest, the whole list reversed): limit, createdBy, id, level, name.
 */
public class Customer extends Entity {
  private static final long serialVersionUID = 1L;

  private String name;
  private BigDecimal limit;
  private int level;

  public Customer() {}

  public String getName() { return name; }
  public void setName(String name) { this.name = name; }
  public BigDecimal getLimit() { return limit; }
  public void setLimit(BigDecimal limit) { this.limit = limit; }
  public int getLevel() { return level; }
  public void setLevel(int level) { this.level = level; }
}
