import { transferHandlers } from 'comlink';
import type { TransferHandler } from 'comlink';
import { TabkaError, errorFromJSON, isSerializedTabkaError } from '../errors';

/**
 * Comlink sends a thrown error as a plain Error (name and message only). This keeps tabka's
 * typed errors typed across the worker boundary: the page gets an OffsetOutOfRangeError with
 * its offsets, not a string. Imported for its effect on both sides of the boundary.
 */
const plainThrowHandler = transferHandlers.get('throw') as TransferHandler<unknown, unknown>;

interface SerializedThrow {
  readonly tabka: unknown;
  readonly plain: unknown;
}

const typedThrowHandler: TransferHandler<{ value: unknown }, SerializedThrow> = {
  canHandle: (value): value is { value: unknown } => plainThrowHandler.canHandle(value),
  serialize(thrown) {
    if (thrown.value instanceof TabkaError) return [{ tabka: thrown.value.toJSON(), plain: undefined }, []];
    const [plain, transferables] = plainThrowHandler.serialize(thrown);
    return [{ tabka: undefined, plain }, transferables];
  },
  deserialize(serialized) {
    if (isSerializedTabkaError(serialized.tabka)) throw errorFromJSON(serialized.tabka);
    return plainThrowHandler.deserialize(serialized.plain) as { value: unknown };
  },
};

transferHandlers.set('throw', typedThrowHandler as TransferHandler<unknown, unknown>);
