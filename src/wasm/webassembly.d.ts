// Minimal ambient types for the WebAssembly JS API as Node 20 provides it
// (TypeScript ships them only in lib.dom, which a Node library should not pull in).
declare namespace WebAssembly {
  namespace Module {
    function exports(module: Module): { name: string; kind: string }[];
  }
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
  function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
}
