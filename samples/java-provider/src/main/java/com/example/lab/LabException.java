package com.example.lab;

import java.util.List;

/**
 * A business exception with fields of its own: {@code code} and {@code details} are meant for
 * clients; {@code internalNote} is not (a mapping exposes only the fields it allows).
 */
public class LabException extends Exception {
  private static final long serialVersionUID = 1L;

  private String code;
  private List<String> details;
  private String internalNote;

  public LabException() {
    super();
  }

  public LabException(String code, List<String> details, String internalNote) {
    super("lab failure " + code);
    this.code = code;
    this.details = details;
    this.internalNote = internalNote;
  }

  public String getCode() { return code; }
  public List<String> getDetails() { return details; }
  public String getInternalNote() { return internalNote; }
}
