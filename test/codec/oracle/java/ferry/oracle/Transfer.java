package ferry.oracle;

import java.io.Serializable;
import java.math.BigDecimal;
import java.time.LocalDateTime;
import java.util.List;

/** Sample POJO shaped like the DESIGN.md example; used by the Hessian oracle tests. */
public class Transfer implements Serializable {
  public long to;
  public BigDecimal amount;
  public String memo;
  public LocalDateTime executeAt;
  public List<String> tags;
  public Currency currency;
  public int count;
  public Long maybe;
}
