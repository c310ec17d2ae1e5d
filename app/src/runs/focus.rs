//! Dialogs take focus when they open and give it back when they close, and
//! modal ones (`aria-modal="true"`: the help, the filter command) keep Tab
//! inside (docs/page.md#keyboard-shortcuts). One effect per dialog and one
//! key listener for all of them, found by selector: the page's WASM budget
//! has no room for a node reference and handler per dialog.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Marks the element that had focus before a dialog opened: a mark in the
/// document rather than a handle, since effects' state must be `Send`.
const RETURN_MARK: &str = "data-focus-return";
const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]), \
     textarea:not([disabled]), select:not([disabled]), summary, [tabindex]:not([tabindex=\"-1\"])";
const MODAL: &str = "[aria-modal=\"true\"]";

/// What a dialog focuses when it opens.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Its first control (the command's input, the help's Close).
    FirstControl,
    /// The dialog itself (`tabindex="-1"`): the drawer, whose arrow keys
    /// step through runs and whose first control is not what one wants.
    Itself,
}

/// While `open` is true the dialog at `selector` holds focus; when it turns
/// false, focus goes back to what had it, if that is still on the page.
pub fn follow(open: Memo<bool>, selector: &'static str, opening: Opening) {
    Effect::watch(
        move || open.get(),
        move |open, was, _| match (*open, was.copied().unwrap_or(false)) {
            (true, false) => take(selector, opening),
            (false, true) => give_back(),
            _ => {}
        },
        true,
    );
}

fn take(selector: &'static str, opening: Opening) {
    if let Ok(Some(old)) = document().query_selector(&format!("[{RETURN_MARK}]")) {
        let _ = old.remove_attribute(RETURN_MARK);
    }
    if let Some(active) = document().active_element() {
        let _ = active.set_attribute(RETURN_MARK, "");
    }
    // Once drawn.
    request_animation_frame(move || {
        let Ok(Some(dialog)) = document().query_selector(selector) else {
            return;
        };
        let target = match opening {
            Opening::FirstControl => controls(&dialog).into_iter().next(),
            Opening::Itself => None,
        };
        let target = target.or_else(|| dialog.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(target) = target {
            let options = web_sys::FocusOptions::new();
            options.set_prevent_scroll(true);
            let _ = target.focus_with_options(&options);
        }
    });
}

fn give_back() {
    let Ok(Some(back)) = document().query_selector(&format!("[{RETURN_MARK}]")) else {
        return;
    };
    let _ = back.remove_attribute(RETURN_MARK);
    if let Ok(back) = back.dyn_into::<web_sys::HtmlElement>() {
        let _ = back.focus();
    }
}

fn controls(dialog: &web_sys::Element) -> Vec<web_sys::HtmlElement> {
    let Ok(list) = dialog.query_selector_all(FOCUSABLE) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

/// Tab in an open modal dialog: from its last control to its first,
/// Shift+Tab from its first to its last, so focus never leaves it. The
/// command's input takes Tab for a suggestion first (and prevents it).
pub fn install() {
    let _tab = window_event_listener(leptos::ev::keydown, |ev| {
        if ev.key() != "Tab" || ev.default_prevented() {
            return;
        }
        let Ok(Some(dialog)) = document().query_selector(MODAL) else {
            return;
        };
        let controls = controls(&dialog);
        let (Some(first), Some(last)) = (controls.first(), controls.last()) else {
            ev.prevent_default();
            return;
        };
        let active = document().active_element();
        let at = |c: &web_sys::HtmlElement| {
            let c: &web_sys::Node = c;
            active.as_ref().is_some_and(|a| a.is_same_node(Some(c)))
        };
        let inside = active.as_ref().is_some_and(|a| {
            let a: &web_sys::Node = a;
            dialog.contains(Some(a))
        });
        if ev.shift_key() && (at(first) || !inside) {
            ev.prevent_default();
            let _ = last.focus();
        } else if !ev.shift_key() && (at(last) || !inside) {
            ev.prevent_default();
            let _ = first.focus();
        }
    });
}
