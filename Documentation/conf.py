# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration for bhq's documentation.  The kernel-doc extension
# comes from a Linux 6.12 tree (scripts/htmldocs.sh passes its path in
# BHQ_KSRC), as in the kernel's own Documentation/conf.py.

import os
import sys

ksrc = os.environ.get('BHQ_KSRC')
if not ksrc:
    sys.exit('conf.py: set BHQ_KSRC to a Linux source tree (scripts/htmldocs.sh does)')
sys.path.insert(0, os.path.join(ksrc, 'Documentation', 'sphinx'))

project = 'bhq'
copyright = 'The bhq authors'
author = 'The bhq authors'
release = os.environ.get('BHQ_VERSION', '')

extensions = ['kerneldoc']
kerneldoc_bin = os.path.join(ksrc, 'scripts', 'kernel-doc')
kerneldoc_srctree = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

# Kernel attributes Sphinx's C parser does not know (the kernel's own list).
c_id_attributes = ['__percpu', '__rcu', '__user', '__iomem', '__force',
                   '__must_check', '__init', 'notrace']

master_doc = 'index'
exclude_patterns = ['output']
html_theme = 'alabaster'
html_title = 'bhq ' + release
pygments_style = 'sphinx'
