package com.example.lab;

import java.io.Serializable;
import java.time.Duration;
import java.time.MonthDay;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.Period;
import java.time.Year;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/** One field per java.time / java.sql value type that hessian-lite writes as its own handle or class. */
public class TimeBag implements Serializable {
  private static final long serialVersionUID = 1L;

  private Duration duration;
  private Period period;
  private Year year;
  private YearMonth yearMonth;
  private MonthDay monthDay;
  private ZoneOffset zoneOffset;
  private OffsetDateTime offsetDateTime;
  private OffsetTime offsetTime;
  private ZonedDateTime zonedDateTime;
  private java.sql.Timestamp timestamp;
  private java.sql.Date sqlDate;
  private java.sql.Time sqlTime;

  public TimeBag() {}

  public Duration getDuration() { return duration; }
  public Period getPeriod() { return period; }
  public Year getYear() { return year; }
  public YearMonth getYearMonth() { return yearMonth; }
  public MonthDay getMonthDay() { return monthDay; }
  public ZoneOffset getZoneOffset() { return zoneOffset; }
  public OffsetDateTime getOffsetDateTime() { return offsetDateTime; }
  public OffsetTime getOffsetTime() { return offsetTime; }
  public ZonedDateTime getZonedDateTime() { return zonedDateTime; }
  public java.sql.Timestamp getTimestamp() { return timestamp; }
  public java.sql.Date getSqlDate() { return sqlDate; }
  public java.sql.Time getSqlTime() { return sqlTime; }
}
