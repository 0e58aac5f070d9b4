import type * as vscode from 'vscode';

/** Base for classes that own resources: everything passed to `_register` is disposed with the owner. */
export abstract class Disposable implements vscode.Disposable {
  private readonly _disposables: { dispose(): unknown }[] = [];
  private _isDisposed = false;

  protected _register<T extends { dispose(): unknown }>(d: T): T {
    if (this._isDisposed) d.dispose();
    else this._disposables.push(d);
    return d;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    while (this._disposables.length) this._disposables.pop()!.dispose();
  }
}
