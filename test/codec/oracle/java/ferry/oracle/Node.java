package ferry.oracle;

import java.io.Serializable;

/** A self-referencing POJO (linked list node) for the Hessian oracle tests. */
public class Node implements Serializable {
  public String name;
  public Node next;
  public Node() {}
  public Node(String name, Node next) { this.name = name; this.next = next; }
}
