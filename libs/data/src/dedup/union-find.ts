/**
 * Disjoint sets over 0..n-1 that grow as documents arrive, with path halving and union by size (Tarjan 1975):
 * near-linear time, and deterministic, since the result depends only on the order of unions.
 */
export class UnionFind {
  private parent = new Int32Array(1024);
  private size = new Int32Array(1024);
  private count = 0;

  /** Add a singleton set; returns its element. */
  add(): number {
    if (this.count === this.parent.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.parent = grow(this.parent);
      this.size = grow(this.size);
    }
    const x = this.count++;
    this.parent[x] = x;
    this.size[x] = 1;
    return x;
  }

  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }

  /** Merge the sets of a and b; returns the new root. */
  union(a: number, b: number): number {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return ra;
    if (this.size[ra] < this.size[rb] || (this.size[ra] === this.size[rb] && rb < ra)) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra] += this.size[rb];
    return ra;
  }

  setSize(x: number): number {
    return this.size[this.find(x)];
  }

  get length(): number {
    return this.count;
  }
}
