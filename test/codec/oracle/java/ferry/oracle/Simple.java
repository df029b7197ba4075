package ferry.oracle;

import java.io.Serializable;
import java.util.Date;
import java.util.List;
import java.util.Map;

/** A POJO with only core types (no BigDecimal / java.time) so that Caucho can read it too. */
public class Simple implements Serializable {
  public long id;
  public int n;
  public String name;
  public double ratio;
  public boolean flag;
  public Date when;
  public byte[] blob;
  public List<String> tags;
  public Map<String, Long> counts;
  public Currency currency;
  public Simple child;
}
