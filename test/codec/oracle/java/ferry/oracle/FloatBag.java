package ferry.oracle;

/**
 * A float field (hessian-lite widens it to double when it writes). hessian-lite 4.0.3 and 4.0.4
 * read a float field with Unsafe.putDouble (apache/dubbo#15670): 8 bytes into the 4-byte slot, so
 * the float is wrong and the next 4 bytes of the object change. The long beside it takes them (no
 * reference gets overwritten, so the oracle JVM survives the bug).
 */
public class FloatBag implements java.io.Serializable {
  public float f;
  public long pad;
}
