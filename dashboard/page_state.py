"""Keeps a page's filters across reruns, page switches and browser reloads: the canonical value
lives in st.session_state (not a widget key, so switching pages does not drop it) and in the
URL's query parameters (so a reload or a shared link keeps it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

T = TypeVar("T")


def remembered(name: str, from_url: Callable[[dict[str, list[str]]], T]) -> T:
    """The value kept under `name`; on a session's first run, read from the URL."""
    if name not in st.session_state:
        params = {key: st.query_params.get_all(key) for key in st.query_params}
        st.session_state[name] = from_url(params)
    return st.session_state[name]


def seed_widget(key: str, value: object) -> None:
    """Give a widget its remembered value when it is (re)created, e.g. after a page switch."""
    if key not in st.session_state:
        st.session_state[key] = value


def remember(name: str, value: object, url: dict[str, str | list[str]]) -> None:
    st.session_state[name] = value
    if {k: st.query_params.get_all(k) for k in st.query_params} != _as_lists(url):
        st.query_params.from_dict(url)


def _as_lists(url: dict[str, str | list[str]]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in url.items()}
