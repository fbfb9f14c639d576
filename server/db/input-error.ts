/** A request the store cannot answer as asked, through the fault of one of its parameters: a 400 naming it. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly parameter: string,
  ) {
    super(message);
    this.name = "InputError";
  }
}
