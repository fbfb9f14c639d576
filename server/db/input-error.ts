/** A request the store cannot answer as asked, through the fault of one of its parameters: a 400 naming it. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly parameter: string,
    /** more for the client to act on (e.g. the range that would be answered), sent beside `error` */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "InputError";
  }
}
