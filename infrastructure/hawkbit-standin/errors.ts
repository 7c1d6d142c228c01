// hawkBit answers every failure with an ExceptionInfo body; routes throw these and one error handler renders them.
import type { ErrorRequestHandler } from "express";

const REPO = "org.eclipse.hawkbit.repository.exception";

export class HawkbitHttpError extends Error {
  constructor(
    readonly status: number,
    readonly exceptionClass: string,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }

  toExceptionInfo(): { exceptionClass: string; errorCode: string; message: string } {
    return { exceptionClass: this.exceptionClass, errorCode: this.errorCode, message: this.message };
  }
}

export const notFound = (entity: string, id: string | number): HawkbitHttpError =>
  new HawkbitHttpError(404, `${REPO}.EntityNotFoundException`, "hawkbit.server.error.repo.entityNotFound",
    `${entity} with given identifier {${id}} does not exist.`);

export const alreadyExists = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(409, `${REPO}.EntityAlreadyExistsException`, "hawkbit.server.error.repo.entityAlreadyExists", message);

export const constraintViolation = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(400, "jakarta.validation.ConstraintViolationException", "hawkbit.server.error.repo.constraintViolation", message);

export const bodyNotReadable = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(400, "org.springframework.http.converter.HttpMessageNotReadableException", "hawkbit.server.error.rest.body.notReadable", message);

export const rsqlSyntax = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(400, `${REPO}.RSQLParameterSyntaxException`, "hawkbit.server.error.rest.param.rsqlParamSyntax", message);

export const rsqlField = (field: string): HawkbitHttpError =>
  new HawkbitHttpError(400, `${REPO}.RSQLParameterUnsupportedFieldException`, "hawkbit.server.error.rest.param.rsqlInvalidField",
    `Unknown search parameter field: ${field}`);

/** An enum field compared with a value that names no constant (hawkBit 1.1.0 SpecificationBuilder.toEnumValue: UNSUPPORTED_FIELD). */
export const rsqlValue = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(400, `${REPO}.RSQLParameterUnsupportedFieldException`, "hawkbit.server.error.rest.param.rsqlInvalidField", message);

export const sortDirection = (direction: string): HawkbitHttpError =>
  new HawkbitHttpError(400, "org.eclipse.hawkbit.mgmt.rest.resource.exception.SortParameterUnsupportedDirectionException", "hawkbit.server.error.rest.param.invalidDirection",
    `The given sort parameter direction ${direction} does not exist`);

export const sortSyntax = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(400, "org.eclipse.hawkbit.mgmt.rest.resource.exception.SortParameterSyntaxErrorException", "hawkbit.server.error.rest.param.sortParamSyntax", message);

export const sortField = (field: string): HawkbitHttpError =>
  new HawkbitHttpError(400, "org.eclipse.hawkbit.mgmt.rest.resource.exception.SortParameterUnsupportedFieldException", "hawkbit.server.error.rest.param.invalidField",
    `Unknown sort field: ${field}`);

export const rolloutIllegalState = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(400, `${REPO}.RolloutIllegalStateException`, "hawkbit.server.error.rollout.illegalState", message);

export const rolloutVerificationFailed = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(400, `${REPO}.RolloutVerificationException`, "hawkbit.server.error.rollout.verificationFailed", message);

export const dsIncomplete = (id: number): HawkbitHttpError =>
  new HawkbitHttpError(400, `${REPO}.IncompleteDistributionSetException`, "hawkbit.server.error.distributionset.incomplete",
    `Distribution set ${id} is incomplete: mandatory modules are missing.`);

export const dsModuleUnsupported = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(400, `${REPO}.UnsupportedSoftwareModuleForThisDistributionSetException`, "hawkbit.server.error.distributionset.modules.unsupported", message);

/** SP_LOCKED, mapped to 423 LOCKED by hawkBit 1.1.0 RestConfiguration.ResponseExceptionHandler. */
export const locked = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(423, `${REPO}.LockedException`, "hawkbit.server.error.locked", message);

export const checksumMismatch = (hash: "md5" | "sha1" | "sha256"): HawkbitHttpError => {
  const cls = { md5: "InvalidMD5HashException", sha1: "InvalidSHA1HashException", sha256: "InvalidSHA256HashException" }[hash];
  return new HawkbitHttpError(400, `${REPO}.${cls}`, `hawkbit.server.error.artifact.uploadFailed.checksum.${hash}.match`,
    `Upload of artifact failed as the provided ${hash.toUpperCase()} checksum did not match with the provided artifact.`);
};

export const uploadFailed = (message: string): HawkbitHttpError =>
  new HawkbitHttpError(400, `${REPO}.ArtifactUploadFailedException`, "hawkbit.server.error.artifact.uploadFailed", message);

export const actionGone = (actionId: number): HawkbitHttpError =>
  new HawkbitHttpError(410, `${REPO}.EntityReadOnlyException`, "hawkbit.server.error.entityReadOnly",
    `Action ${actionId} is not active anymore.`);

/** SP_ACTION_NOT_CANCELABLE, mapped to 405 METHOD_NOT_ALLOWED by hawkBit 1.1.0 RestConfiguration.ResponseExceptionHandler. */
export const actionNotCancelable = (actionId: number, message = `Action ${actionId} is not active and cannot be canceled.`): HawkbitHttpError =>
  new HawkbitHttpError(405, `${REPO}.CancelActionNotAllowedException`, "hawkbit.server.error.action.notCancelable",
    message);

export const autoConfirmAlreadyActive = (controllerId: string): HawkbitHttpError =>
  new HawkbitHttpError(409, `${REPO}.AutoConfirmationAlreadyActiveException`, "hawkbit.server.error.repo.autoConfirmAlreadyActive",
    `Auto confirmation is already active for device ${controllerId}.`);

/** SP_ACTION_NOT_FORCE_QUITABLE, 405 as RestConfiguration maps it. */
export const forceQuitNotAllowed = (actionId: number, message = `Action ${actionId} is not canceled yet and cannot be force quit.`): HawkbitHttpError =>
  new HawkbitHttpError(405, `${REPO}.ForceQuitActionNotAllowedException`, "hawkbit.server.error.action.notForceQuitable",
    message);

/** Renders HawkbitHttpError as ExceptionInfo; anything else is a stand-in bug and becomes a generic 500. */
export function exceptionInfoHandler(onUnexpected: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof HawkbitHttpError) {
      res.status(err.status).json(err.toExceptionInfo());
      return;
    }
    if (err?.type === "entity.parse.failed") {
      res.status(400).json(bodyNotReadable("The given request body is not well formed").toExceptionInfo());
      return;
    }
    onUnexpected(err);
    res.status(500).json({
      exceptionClass: "java.lang.RuntimeException",
      errorCode: "hawkbit.server.error.repo.genericError",
      message: "unknown error occurred",
    });
  };
}

export const dsInvalid = (id: number): HawkbitHttpError =>
  new HawkbitHttpError(400, `${REPO}.InvalidDistributionSetException`, "hawkbit.server.error.distributionset.invalid",
    `Distribution set ${id} is invalidated and cannot be assigned.`);
