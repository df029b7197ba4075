package ferry.oracle;

/** Sample enum for the Hessian oracle tests. */
public enum Currency { CNY, USD, EUR }
