package com.example.lab;

import java.io.Serializable;

/** The superclass of {@link Customer}: its fields come first in Java's own field order. */
public class Entity implements Serializable {
  private static final long serialVersionUID = 1L;

  private long id;
  private String createdBy;

  public Entity() {}

  public long getId() { return id; }
  public void setId(long id) { this.id = id; }
  public String getCreatedBy() { return createdBy; }
  public void setCreatedBy(String createdBy) { this.createdBy = createdBy; }
}
