package com.example.bank;

/** Currencies the sample bank knows. Written by hessian-lite as an enum object {name}. */
public enum Currency {
  CNY,
  USD,
  EUR
}
